"""The audit trail as CSV or XLSX evidence, through the shared safe exporters."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from flask_babel import gettext as _

from portal.audit.criteria import AuditCriteria
from portal.audit_pages.queries import iter_export_rows
from portal.core.exports import Sheet, csv_response, rows_in_app_context, xlsx_response
from portal.core.timeutil import as_utc, to_jst


@dataclass(frozen=True)
class ExportFacts:
    """What one export contains and who made it (also written to its own audit event)."""

    criteria: AuditCriteria
    head_seq: int
    head_hash: str
    rows: int
    exported_by: Any
    export_event_seq: int
    exported_at: datetime


def header() -> list[str]:
    """The column names of an audit export, in the viewer's language."""
    return [_("Seq"), _("Time (JST)"), _("Time (UTC)"), _("Actor's employee number"), _("Actor name"),
            _("Actor id"), _("Action"), _("Object type"), _("Object id"), _("Reason"), _("Details (JSON)"),
            _("Source"), _("Hash scheme"), _("Audit key id"), _("Previous hash"), _("Hash")]


def _utc_text(moment: datetime) -> str:
    return as_utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def export_rows(facts: ExportFacts) -> Iterator[list[Any]]:
    """The exported events as cells, oldest first."""
    for row in iter_export_rows(facts.criteria, facts.head_seq):
        yield [row.seq, to_jst(row.occurred_at).strftime("%Y-%m-%d %H:%M:%S"), _utc_text(row.occurred_at),
               row.actor_label, row.actor_name or "", row.actor_id if row.actor_id is not None else "",
               row.action, row.object_type, row.object_id, row.reason, row.details_json, row.source,
               row.hash_scheme, row.key_id, row.prev_hash, row.hash]


def filename(facts: ExportFacts, extension: str) -> str:
    """監査ログ_as-of-2026-11-30.csv, or 監査ログ_<export time JST>.csv without an as-of day."""
    when = (f"as-of-{facts.criteria.as_of.isoformat()}" if facts.criteria.as_of
            else to_jst(facts.exported_at).strftime("%Y%m%d-%H%M%S"))
    return f"{_('Audit trail')}_{when}.{extension}"


def csv_export(facts: ExportFacts):
    """A streamed CSV of the events (oldest first)."""
    return csv_response(filename(facts, "csv"), header(), rows_in_app_context(lambda: export_rows(facts)))


def about(facts: ExportFacts) -> list[list[Any]]:
    """The rows of the sheet describing the export."""
    person = facts.exported_by
    filters = facts.criteria.as_details()
    return [
        [_("Exported at (JST)"), to_jst(facts.exported_at).strftime("%Y-%m-%d %H:%M:%S")],
        [_("Exported by"), f"{person.name}（{person.employee_no}）"],
        [_("Evidence as of (JST)"), facts.criteria.as_of.isoformat() if facts.criteria.as_of else _("now")],
        [_("Events exported"), facts.rows],
        [_("Last event in the chain at that time"), facts.head_seq],
        [_("Its hash"), facts.head_hash],
        [_("This export is audit event"), facts.export_event_seq],
        *[[_("Filter: %(name)s", name=name), value] for name, value in filters.items()],
    ]


def xlsx_export(facts: ExportFacts):
    """An XLSX with the events and a sheet describing the export."""
    return xlsx_response(filename(facts, "xlsx"), [
        Sheet(_("Audit trail"), header(), export_rows(facts)),
        Sheet(_("About this export"), [_("Item"), _("Value")], about(facts)),
    ])
