"""A large audit export as a job: the same file as the streamed export, written by a consumer into
PORTAL_FILES_DIR and downloaded from "My downloads" (audited again when downloaded)."""
from __future__ import annotations

import os
import uuid
from datetime import date, datetime
from pathlib import Path

from flask_babel import gettext as _, lazy_gettext as _l

from portal.audit.criteria import AuditCriteria
from portal.audit.queries import chain_head
from portal.audit.services import record_export
from portal.audit_pages import exporting
from portal.audit_pages.queries import count_events
from portal.core.exports import Sheet, csv_lines, write_xlsx
from portal.core.timeutil import as_utc
from portal.extensions import db
from portal.jobs.kinds import JobKind, JobResult, PartPlan
from portal.jobs.services import create_job
from portal.org.models import Person

KIND = "audit.export"
_DATES = ("date_from", "date_to", "as_of")


def start_audit_export(actor: Person, criteria: AuditCriteria, export_format: str):
    """Queue an export of the filtered trail (CSV or XLSX); logged now as audit.exported; flushes."""
    head_seq, head_hash = chain_head(criteria.as_of_end())
    rows = count_events(criteria, head_seq)
    event = record_export(actor, export_format, criteria.as_details(), head_seq, rows)
    return create_job(actor, KIND, {"format": export_format, "criteria": criteria.as_details(), "head_seq": head_seq,
                                    "head_hash": head_hash, "rows": rows, "event_seq": event.seq,
                                    "exported_at": as_utc(event.occurred_at).isoformat()})


def _criteria(details: dict) -> AuditCriteria:
    return AuditCriteria(**{k: date.fromisoformat(v) if k in _DATES else v for k, v in details.items()})


def _facts(job) -> exporting.ExportFacts:
    params = job.params
    return exporting.ExportFacts(criteria=_criteria(params["criteria"]), head_seq=params["head_seq"],
                                 head_hash=params["head_hash"], rows=params["rows"],
                                 exported_by=db.session.get(Person, job.started_by_id),
                                 export_event_seq=params["event_seq"],
                                 exported_at=datetime.fromisoformat(params["exported_at"]))


def plan(job, progress) -> list[PartPlan]:
    """One part: the events are read oldest first in one pass."""
    return [PartPlan({}, job.params["rows"])]


def _counted(rows, progress):
    for done, row in enumerate(rows, start=1):
        progress(done)
        yield row


def work(job, part, progress, folder: Path) -> None:
    """Write the export file (a temporary name, renamed when complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    facts = _facts(job)
    final = folder / exporting.filename(facts, job.params["format"])
    temporary = folder / f".{uuid.uuid4().hex}.tmp"
    rows = _counted(exporting.export_rows(facts), progress)
    with open(temporary, "wb") as handle:
        if job.params["format"] == "csv":
            for chunk in csv_lines(exporting.header(), rows):
                handle.write(chunk)
        else:
            write_xlsx(handle, [Sheet(_("Audit trail"), exporting.header(), rows),
                                Sheet(_("About this export"), [_("Item"), _("Value")], exporting.about(facts))])
    os.replace(temporary, final)


def finish(job, progress, folder: Path) -> JobResult:
    """The file work() wrote."""
    final = folder / exporting.filename(_facts(job), job.params["format"])
    return JobResult(final, final.name)


AUDIT_EXPORT = JobKind(name=KIND, label=_l("Audit trail export"), plan=plan, work=work, finish=finish)
