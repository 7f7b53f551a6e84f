"""Rebuilding the materialised training statuses as a job (minutes on 50,000 people)."""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from portal.core.timeutil import utcnow
from portal.jobs.kinds import JobKind, PartPlan
from portal.training.status import jst_today, rebuild

KIND = "training.rebuild_status"


def _plan(job, progress) -> list[PartPlan]:
    return [PartPlan({}, 1)]


def _work(job, part, progress, folder: Path) -> None:
    """Rebuild every row from the facts (safe to repeat)."""
    rebuild(jst_today(), utcnow())


def _finish(job, progress, folder: Path) -> None:
    return None


STATUS_REBUILD = JobKind(name=KIND, label=_l("Training status rebuild"), plan=_plan, work=_work, finish=_finish)
