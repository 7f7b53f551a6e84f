"""Organisation-wide work as jobs: the person-level table of every department (CSV or XLSX), and the
organisation recount (the trend's point for today). Both run in a consumer; the page that starts them answers
at once and shows their progress under "My downloads"."""
from __future__ import annotations

import json
import os
import uuid
from datetime import date
from pathlib import Path

from flask_babel import gettext as _, lazy_gettext as _l

from portal.audit.services import record_event
from portal.core.exports import Sheet, csv_lines, write_xlsx
from portal.core.timeutil import to_jst, utcnow
from portal.dashboards import queries
from portal.dashboards.services import record_dashboard_export, refresh_completion
from portal.dashboards.tables import pair_table
from portal.jobs.kinds import JobKind, JobResult, PartPlan
from portal.jobs.services import create_job
from portal.org.models import Person
from portal.training.status import jst_today, manual_facts

PEOPLE_KIND = "dashboards.people"
RECOUNT_KIND = "dashboards.recount"
#: Departments per part: the unit consumers share.
DEPARTMENTS_PER_PART = 10


def start_people_export(actor: Person, export_format: str, locale: str):
    """Queue every department's person × manual table (CSV or XLSX); audited now; flushes."""
    job = create_job(actor, PEOPLE_KIND, {"format": export_format, "today": jst_today().isoformat(), "locale": locale})
    record_dashboard_export(actor, "organisation", "people", export_format, scope={"job": job.id})
    return job


def start_recount(actor: Person):
    """Queue a count of the whole organisation (settle, and today's snapshot for the trend); flushes."""
    job = create_job(actor, RECOUNT_KIND, {"today": jst_today().isoformat()})
    record_event(actor, "dashboard.recount_started", object_type="job", object_id=job.id)
    return job


def _people_plan(job, progress) -> list[PartPlan]:
    ids = list(queries.departments_by_id(None))
    chunks = [ids[i:i + DEPARTMENTS_PER_PART] for i in range(0, len(ids), DEPARTMENTS_PER_PART)]
    return [PartPlan({"departments": chunk}, len(chunk)) for chunk in chunks]


def _rows_file(folder: Path, number: int) -> Path:
    return folder / f"part-{number:05d}.jsonl"


def _people_work(job, part, progress, folder: Path) -> None:
    """The person × manual rows of the part's departments, one JSON list per line."""
    folder.mkdir(parents=True, exist_ok=True)
    today, locale = date.fromisoformat(job.params["today"]), job.params.get("locale", "ja")
    facts = manual_facts()
    manuals = queries.manuals_by_id(list(facts))
    titles = {m.id: m.title(locale) for m in manuals.values()}
    slugs = {m.id: m.slug for m in manuals.values()}
    departments = queries.departments_by_id(part.params["departments"])
    temporary = folder / f".{uuid.uuid4().hex}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        for done, department in enumerate(departments.values(), start=1):
            pairs = queries.department_pairs(facts, today, [department.id])
            _header, body = pair_table(pairs, queries.people_in([department.id]), titles, slugs, department.code)
            for row in body:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            progress(done)
    os.replace(temporary, _rows_file(folder, part.number))


def _all_rows(job, folder: Path, progress):
    for number in sorted(p.number for p in job.parts if p.stage == 1):
        with open(_rows_file(folder, number), encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)
        progress(progress.done)


def _people_finish(job, progress, folder: Path) -> JobResult:
    """One CSV (UTF-8 with BOM) or XLSX of every part's rows, in department order."""
    folder.mkdir(parents=True, exist_ok=True)
    header, _body = pair_table([], {}, {}, {}, "")
    stamp = to_jst(job.created_at).strftime("%Y%m%d-%H%M")
    final = folder / f"training-people-all-{stamp}.{job.params['format']}"
    temporary = folder / f".{uuid.uuid4().hex}.tmp"
    with open(temporary, "wb") as handle:
        if job.params["format"] == "csv":
            for chunk in csv_lines(header, _all_rows(job, folder, progress)):
                handle.write(chunk)
        else:
            write_xlsx(handle, [Sheet(_("People"), header, _all_rows(job, folder, progress))])
    os.replace(temporary, final)
    for path in folder.glob("part-*.jsonl"):
        path.unlink(missing_ok=True)
    return JobResult(final, final.name)


def _recount_plan(job, progress) -> list[PartPlan]:
    return [PartPlan({}, 1)]


def _recount_work(job, part, progress, folder: Path) -> None:
    """Count again; written in the part's transaction (safe to repeat: it replaces today's snapshot)."""
    refresh_completion(date.fromisoformat(job.params["today"]), utcnow())


def _no_file(job, progress, folder: Path) -> None:
    return None


PEOPLE_EXPORT = JobKind(name=PEOPLE_KIND, label=_l("Training status of everyone"), plan=_people_plan,
                        work=_people_work, finish=_people_finish)
ORGANISATION_RECOUNT = JobKind(name=RECOUNT_KIND, label=_l("Organisation recount"), plan=_recount_plan,
                               work=_recount_work, finish=_no_file, result_endpoint="dashboards.organisation")
