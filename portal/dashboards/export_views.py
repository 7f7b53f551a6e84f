"""Every dashboard table as CSV (UTF-8 with BOM) or XLSX, never more than the viewer may see.

The same loaders as the pages decide what the viewer may see (404 for a department or person
outside a manager's scope), and every export writes an audit event before it is sent.
"""
from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.certificates.labels import certificate_status_label
from portal.core.access import roles_required
from portal.core.exports import Sheet, csv_response, xlsx_response
from portal.core.i18n import current_locale, format_jst
from portal.core.timeutil import to_jst, utcnow
from portal.dashboards import queries
from portal.dashboards.blueprint import bp
from portal.dashboards.forms import ActionForm
from portal.dashboards.jobs import start_people_export
from portal.dashboards.services import record_dashboard_export
from portal.dashboards.tables import dashboard_status_label, day_text, pair_table
from portal.dashboards.views import (
    ORGANISATION_VIEWERS,
    VIEWERS,
    department_data,
    load_department,
    load_person,
    person_data,
)
from portal.extensions import db
from portal.jobs.services import announce_job
from portal.training.status import jst_today, manual_facts

FORMATS = ("csv", "xlsx")


def _stamp() -> str:
    return to_jst(utcnow()).strftime("%Y%m%d-%H%M")


def _share(share: float | None):
    return "" if share is None else round(share * 100, 1)


def _send(view: str, fmt: str, tables: dict[str, tuple[str, list, list]], stem: str, scope: dict):
    """Audit, then send one table as CSV (?table=…) or every table as one XLSX workbook."""
    if fmt == "csv":
        name = request.args.get("table", next(iter(tables)))
        if name not in tables:
            abort(404)
        chosen = {name: tables[name]}
    else:
        chosen = tables
    rows = sum(len(body) for _title, _header, body in chosen.values())
    record_dashboard_export(current_user._get_current_object(), view, ",".join(chosen), fmt, scope=scope, rows=rows)
    db.session.commit()
    if fmt == "csv":
        name, (_title, header, body) = next(iter(chosen.items()))
        return csv_response(f"{stem}-{name}-{_stamp()}.csv", header, body)
    return xlsx_response(f"{stem}-{_stamp()}.xlsx", [Sheet(title, header, body) for title, header, body in
                                                     chosen.values()])


def _outcome(outcome: str | None) -> str:
    labels = {"passed": _("Passed"), "failed": _("Failed"), "timed_out": _("Time limit passed")}
    return labels.get(outcome or "", "")


def _status_header() -> list[str]:
    return [dashboard_status_label(status) for status in queries.STATUS_COLUMNS]


@bp.route("/departments/<int:department_id>/export.<any(csv, xlsx):fmt>")
@roles_required(*VIEWERS)
def department_export(department_id: int, fmt: str):
    """The department's tables: summary per manual, people behind, every person × manual."""
    department, today, locale = load_department(department_id), jst_today(), current_locale()
    data = department_data(department, today, locale)
    summary = [[m.title(locale), m.slug, *(c.by_status[s] for s in queries.STATUS_COLUMNS), c.assigned,
                _share(c.share_current)] for m, c in data["rows"]]
    people, titles, slugs = data["people"], data["titles"], data["slugs"]
    pairs = queries.department_pairs(manual_facts(), today, [department.id])
    behind = [p for p in pairs if p.status in queries.BEHIND]
    tables = {
        "summary": (_("Summary"), [_("Manual"), _("Manual ID"), *_status_header(), _("Assigned"),
                                   _("Share current (%)")], summary),
        "behind": (_("Overdue"), *pair_table(behind, people, titles, slugs, department.code)),
        "people": (_("People"), *pair_table(pairs, people, titles, slugs, department.code)),
    }
    return _send("department", fmt, tables, f"dashboard-{department.code}",
                 {"department": department.code, "as_of": today.isoformat()})


@bp.route("/people/<int:person_id>/export.<any(csv, xlsx):fmt>")
@roles_required(*VIEWERS)
def person_export(person_id: int, fmt: str):
    """One person's history: status per manual, certificates, quiz attempts."""
    person, locale = load_person(person_id), current_locale()
    data = person_data(person, jst_today())
    manuals = data["manuals"]
    status = [[manuals[r.manual_id].title(locale), manuals[r.manual_id].slug, dashboard_status_label(r.status),
               day_text(r.due_date), day_text(r.valid_until), r.attested_edition_number or "",
               format_jst(r.attested_at) if r.attested_at else "", r.current_edition_number or ""]
              for r in data["status_rows"]]
    certificates = [[c.manual_title(locale), c.manual_slug, c.edition_number, format_jst(c.attested_at),
                     day_text(c.valid_until), certificate_status_label(c.status)] for c in data["certificates"]]
    attempts = [[m.title(locale), m.slug, a.edition_number, format_jst(a.started_at),
                 format_jst(a.submitted_at) if a.submitted_at else "", _outcome(a.outcome),
                 "" if a.score is None else a.score, a.question_count] for a, m in data["attempts"]]
    tables = {
        "status": (_("Status"), [_("Manual"), _("Manual ID"), _("Status"), _("Due date"), _("Valid until"),
                                 _("Attested edition"), _("Attested (JST)"), _("Current edition")], status),
        "certificates": (_("Certificates"), [_("Manual"), _("Manual ID"), _("Edition"), _("Attested (JST)"),
                                             _("Valid until"), _("Certificate status")], certificates),
        "attempts": (_("Quiz attempts"), [_("Manual"), _("Manual ID"), _("Edition"), _("Started (JST)"),
                                          _("Submitted (JST)"), _("Outcome"), _("Score"), _("Questions")], attempts),
    }
    return _send("person", fmt, tables, f"training-{person.employee_no}", {"person": person.employee_no})


@bp.route("/organisation/export.<any(csv, xlsx):fmt>")
@roles_required(*ORGANISATION_VIEWERS)
def organisation_export(fmt: str):
    """The heat map (department × manual, long form) and the trend."""
    locale, today = current_locale(), jst_today()
    heat = queries.heat_map(today)
    departments = queries.departments_by_id({d for d, _m in heat.cells})
    manuals = queries.manuals_by_id({m for _d, m in heat.cells})
    cells = [[d.code, d.display_name(locale), m.slug, m.title(locale),
              *(heat.cells[(d.id, m.id)].by_status[s] for s in queries.STATUS_COLUMNS),
              heat.cells[(d.id, m.id)].assigned, _share(heat.cells[(d.id, m.id)].share_current)]
             for d in departments.values() for m in manuals.values() if (d.id, m.id) in heat.cells]
    trend = [[p.day.isoformat(), p.assigned, p.current, p.overdue, _share(p.share_current)]
             for p in queries.trend(today)]
    tables = {
        "heatmap": (_("Heat map"), [_("Department code"), _("Department"), _("Manual ID"), _("Manual"),
                                    *_status_header(), _("Assigned"), _("Share current (%)")], cells),
        "trend": (_("Trend"), [_("Date"), _("Assigned"), _("Current"), _("Overdue or expired"),
                               _("Share current (%)")], trend),
    }
    return _send("organisation", fmt, tables, "dashboard-organisation", {"as_of": heat.as_of.isoformat()})


@bp.route("/organisation/people-export", methods=["POST"])
@roles_required(*ORGANISATION_VIEWERS)
def people_export():
    """Every department's person × manual table as one CSV or XLSX file, made in the background."""
    export_format = request.form.get("format", "")
    if not ActionForm().validate_on_submit() or export_format not in FORMATS:
        abort(400)
    job = start_people_export(current_user._get_current_object(), export_format, current_locale())
    db.session.commit()
    announce_job(job.id)
    return redirect(url_for("downloads.index", _anchor=f"job-{job.id}"))
