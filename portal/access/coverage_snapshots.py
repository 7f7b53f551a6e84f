"""The daily coverage snapshot: each system's figures per department at the end of a day, kept as they were.

Past figures can always be recomputed from the append-only histories; the snapshot keeps them
as reported, next to the completion snapshot, for evidence and for quick reading. A day is taken
once it has ended (Japan time) and never again: rows are append-only and sealed into the audit
trail, and a second run for the same day leaves them as they are.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from portal.access.control_models import CoverageSnapshot
from portal.access.coverage import catch_up, coverage_report
from portal.access.decision import end_of_day_jst
from portal.access.models import ProtectedSystem
from portal.audit.services import record_event
from portal.core.timeutil import to_jst
from portal.extensions import db


def last_complete_day(now: datetime) -> date:
    """Yesterday in Japan time: the last day whose figures can no longer change."""
    return to_jst(now).date() - timedelta(days=1)


def take_coverage_snapshot(day: date, now: datetime) -> int:
    """Keep every system's coverage per department at the end of `day`; returns rows written (0: already kept)."""
    if end_of_day_jst(day) > now:
        raise ValueError(f"{day.isoformat()} has not ended yet (Japan time)")
    catch_up(now)  # time-based changes up to now are in the history before it is read
    written = 0
    for system in db.session.scalars(select(ProtectedSystem).order_by(ProtectedSystem.code)):
        kept = db.session.scalar(select(CoverageSnapshot.department_id).where(
            CoverageSnapshot.day == day, CoverageSnapshot.system_id == system.id).limit(1))
        if kept is not None:
            continue
        rows = [r for r in coverage_report(system, day, now=now) if r.code]
        db.session.add_all(CoverageSnapshot(day=day, system_id=system.id, department_id=r.department_id,
                                            headcount=r.after.headcount, in_force=r.after.in_force,
                                            suspended=r.after.suspended, waiting=r.after.waiting,
                                            cap_limit=r.cap_limit, taken_at=now) for r in rows)
        db.session.flush()
        record_event(None, "access.coverage_snapshot", object_type="protected_system", object_id=system.code,
                     details={"day": day.isoformat(), "departments": len(rows),
                              "in_force": sum(r.after.in_force for r in rows)})
        written += len(rows)
    return written


def snapshot_rows(system_id: int, day: date) -> list[CoverageSnapshot]:
    """The kept rows of one system and day."""
    return list(db.session.scalars(select(CoverageSnapshot).where(
        CoverageSnapshot.system_id == system_id, CoverageSnapshot.day == day).order_by(CoverageSnapshot.department_id)))
