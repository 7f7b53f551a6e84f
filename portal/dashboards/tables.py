"""The words and tables the dashboard pages, exports and export jobs share."""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l

from portal.core.i18n import format_jst
from portal.core.labels import StateLabels
from portal.dashboards import queries

STATUS_LABELS = StateLabels({
    "current": _l("Current"), "due": _l("Re-training due"), "in_progress": _l("In progress"),
    "not_started": _l("Not started"), "overdue": _l("Overdue"), "expired": _l("Expired"),
})


def dashboard_status_label(status: str) -> str:
    """The short word for a training status, in the viewer's language."""
    return STATUS_LABELS.label_for(status)


def day_text(day) -> str:
    """A date as YYYY-MM-DD, or empty."""
    return day.isoformat() if day else ""


def pair_table(pairs, people, titles, slugs, department_code: str) -> tuple[list, list]:
    """Person × manual rows by kana reading, then manual."""
    header = [_("Department code"), _("Employee number"), _("Full name"), _("Reading (kana)"), _("Manual"),
              _("Manual ID"), _("Status"), _("Due date"), _("Attested edition"), _("Attested (JST)")]
    order = {person_id: index for index, person_id in enumerate(people)}
    labels = {status: dashboard_status_label(status) for status in queries.STATUS_COLUMNS}
    body = []
    for r in sorted((p for p in pairs if p.person_id in people and p.manual_id in titles),
                    key=lambda p: (order[p.person_id], slugs[p.manual_id])):
        person = people[r.person_id]
        body.append([department_code, person.employee_no, person.name, person.name_kana, titles[r.manual_id],
                     slugs[r.manual_id], labels.get(r.status, r.status), day_text(r.due_date),
                     r.attested_edition_number or "", format_jst(r.attested_at) if r.attested_at else ""])
    return header, body
