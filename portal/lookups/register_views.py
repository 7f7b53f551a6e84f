"""The look-up register: every request the viewer oversees (auditors and admins: all; managers: their
departments), filtered by status, department and the days it was asked on, paged, each row linking to
its history; exported as CSV or XLSX (cells neutralised, the export audited)."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.audit.services import record_event
from portal.core.access import roles_required
from portal.core.exports import Sheet, csv_response, rows_in_app_context, xlsx_response
from portal.core.i18n import current_locale
from portal.core.timeutil import to_jst, utcnow
from portal.extensions import db
from portal.lookups import messages, queries, rules
from portal.lookups.blueprint import bp
from portal.lookups.forms import RegisterForm
from portal.lookups.register import PAGE_SIZE, RegisterFilters, iter_register_rows, register_page
from portal.lookups.views import _status

#: Query parameters that reproduce a search.
SEARCH_ARGS = ("status", "department", *(f"{name}-{part}" for name in ("asked_from", "asked_to")
                                         for part in ("year", "month", "day")))


def _filters() -> tuple[RegisterForm, RegisterFilters | None]:
    """The filter form and what it asks for; None when a date is wrong (the form names it)."""
    form = RegisterForm(formdata=request.args)
    departments = queries.register_departments(current_user)
    form.department.choices = [("", _("All"))] + [(str(d.id), d.display_name(current_locale())) for d in departments]
    form.status.choices = [("", _("All"))] + messages.STATUS_LABELS.choices(rules.STATUS_FILTERS)
    if not form.validate():
        return form, None
    status = form.status.data if form.status.data in rules.STATUS_FILTERS else ""
    chosen = form.department.data or ""
    department_id = int(chosen) if chosen in {str(d.id) for d in departments} else None
    return form, RegisterFilters(status, department_id, form.asked_from.data, form.asked_to.data)


@bp.route("/register")
@roles_required("manager", "auditor", "admin")
def register():
    """Look-up requests the viewer oversees, newest first, a page at a time."""
    form, filters = _filters()
    page = max(request.args.get("page", 1, type=int), 1)
    items, total = (register_page(queries.statistics_scope(current_user), filters, page, utcnow())
                    if filters else ([], 0))
    args = {k: v for k, v in request.args.items() if k in SEARCH_ARGS}
    return render_template("lookups/register.html", form=form, items=items, total=total, status_of=_status,
                           page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
                           query_args=args), (200 if filters else 400)


def _header() -> list[str]:
    return [_("No."), _("Asked (JST)"), _("Requester's employee number"), _("Requester"),
            _("Department code at the time"), _("Department at the time"), _("System code"), _("Purpose of use"),
            _("Explanation"), _("Question"), _("Reference"), _("Status now"), _("Approver's employee number"),
            _("Approver"), _("Decided (JST)"), _("Decision reason"), _("Handler's employee number"), _("Handler"),
            _("Taken (JST)"), _("What was checked"), _("Answer given"), _("Answered (JST)"), _("Closed (JST)")]


def _when(moment) -> str:
    return to_jst(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _row_maker():
    """Cells of one row; status words are looked up now, in the viewer's language."""
    labels = dict(messages.STATUS_LABELS.choices(rules.STATUS_FILTERS))

    def cells(row) -> list:
        return [row.id, _when(row.requested_at), row.requester_no, row.requester_name, row.department_code,
                row.department_name, row.system_code, row.purpose, row.explanation, row.question, row.reference,
                labels.get(row.status_now, row.status_now), row.approver_no or "", row.approver_name or "",
                _when(row.decided_at), row.decision_reason, row.handler_no or "", row.handler_name or "",
                _when(row.taken_at), row.checked, row.answer, _when(row.answered_at), _when(row.closed_at)]

    return cells


@bp.route("/register.<any(csv, xlsx):fmt>")
@roles_required("manager", "auditor", "admin")
def register_export(fmt: str):
    """The register as CSV (UTF-8 with BOM) or XLSX, with the same filters; the export is audited."""
    form, filters = _filters()
    if filters is None:
        return register()
    now = utcnow()
    scope = queries.statistics_scope(current_user)
    record_event(current_user, "lookups.register_exported", object_type="lookup_register", object_id=fmt,
                 details={"format": fmt, "status": filters.status, "department": filters.department_id,
                          "asked_from": filters.asked_from.isoformat() if filters.asked_from else None,
                          "asked_to": filters.asked_to.isoformat() if filters.asked_to else None,
                          "scope": sorted(scope) if scope is not None else "all"})
    db.session.commit()
    name = f"{_('Look-up register')}_{to_jst(now).strftime('%Y%m%d-%H%M%S')}.{fmt}"
    cells = _row_maker()
    rows = rows_in_app_context(lambda: (cells(row) for row in iter_register_rows(scope, filters, now)))
    if fmt == "csv":
        return csv_response(name, _header(), rows)
    return xlsx_response(name, [Sheet(title=_("Look-up register"), header=_header(), rows=rows)])
