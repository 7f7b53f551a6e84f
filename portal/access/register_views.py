"""The grant register: every grant, filtered by dates and state, paged, and exported as CSV or XLSX (audited)."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from portal.access.blueprint import bp, viewer
from portal.access.forms import GrantRegisterForm
from portal.access.grant_views import READERS, visible_systems
from portal.access.messages import GRANT_STATE_LABELS
from portal.access.registers import PAGE_SIZE, GrantFilters, grant_page, iter_grant_rows, suspension_codes_of
from portal.audit.services import record_event
from portal.core.access import roles_required
from portal.core.exports import Sheet, csv_response, rows_in_app_context, xlsx_response
from portal.core.i18n import current_locale
from portal.core.timeutil import to_jst, utcnow
from portal.extensions import db

#: Query parameters that reproduce a search (never url_for's own _external, _scheme...).
SEARCH_ARGS = ("system", "state", "employee_no", *(f"{name}-{part}" for name in ("granted_from", "granted_to")
                                                    for part in ("year", "month", "day")))


def _filters() -> tuple[GrantRegisterForm, GrantFilters | None]:
    """The form and the filters it gives; None when the input is wrong (the form names the field)."""
    form = GrantRegisterForm(formdata=request.args)
    systems = visible_systems()
    form.system.choices = [("", _("All"))] + [(s.code, s.display_name(current_locale())) for s in systems]
    form.state.choices = [("", _("All"))] + GRANT_STATE_LABELS.choices()
    valid = form.validate()
    chosen = [s.id for s in systems if not form.system.data or s.code == form.system.data]
    if form.system.data and not chosen:
        form.system.errors = list(form.system.errors) + [_("Choose a system from the list.")]
        valid = False
    state = form.state.data if form.state.data in GRANT_STATE_LABELS else ""
    if not valid:
        return form, None
    return form, GrantFilters(tuple(chosen), form.granted_from.data, form.granted_to.data, state,
                              (form.employee_no.data or "").strip())


@bp.route("/registers/grants")
@roles_required(*READERS)
def grant_register():
    """Every grant the viewer may read, newest first: who, department then, purpose, approver, granter, state, dates."""
    form, filters = _filters()
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = grant_page(filters, page, utcnow()) if filters else ([], 0)
    args = {k: v for k, v in request.args.items() if k in SEARCH_ARGS}
    return render_template("access/grant_register.html", form=form, rows=rows, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), query_args=args,
                           codes_of=suspension_codes_of), (200 if filters else 400)


def _header() -> list[str]:
    return [_("Grant No."), _("System code"), _("System"), _("Employee number"), _("Name"),
            _("Department code when granted"), _("Department when granted"), _("Purpose of use"), _("Explanation"),
            _("Requested (JST)"), _("Approver's employee number"), _("Approver"), _("Approved (JST)"),
            _("Approval reason"), _("Granter's employee number"), _("Granter"), _("Granted (JST)"),
            _("Grant reason"), _("Until (JST)"), _("State now"), _("Why suspended (codes)"), _("Cap overridden"),
            _("Revoked (JST)"), _("Revoked by"), _("Revocation reason")]


def _when(moment) -> str:
    return to_jst(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _row_maker():
    """Cells of one row; words are looked up now, in the viewer's language (rows stream after the request)."""
    states = dict(GRANT_STATE_LABELS.choices())
    yes = _("Yes")

    def cells(row) -> list:
        return [row.id, row.system_code, row.system_name, row.employee_no, row.name, row.department_code or "",
                row.department_name or "", row.purpose, row.explanation, _when(row.requested_at),
                row.approver_no or "", row.approver_name or "", _when(row.approved_at), row.approval_reason,
                row.granter_no, row.granter_name, _when(row.granted_at), row.decision_reason, _when(row.expires_at),
                states.get(row.state_now, row.state_now), " ".join(suspension_codes_of(row)),
                yes if row.cap_overridden else "", _when(row.revoked_at),
                " ".join(filter(None, (row.revoker_name, row.revoker_no))), row.revoke_reason]

    return cells


@bp.route("/registers/grants.<any(csv, xlsx):fmt>")
@roles_required(*READERS)
def grant_register_export(fmt: str):
    """The grant register as CSV (UTF-8 with BOM) or XLSX; cells are neutralised and the export is audited."""
    form, filters = _filters()
    if filters is None:
        return grant_register()
    now = utcnow()
    record_event(viewer(), "access.grant_register_exported", object_type="grant_register", object_id=fmt,
                 details={"format": fmt, "systems": list(filters.system_ids),
                          "granted_from": filters.granted_from.isoformat() if filters.granted_from else None,
                          "granted_to": filters.granted_to.isoformat() if filters.granted_to else None,
                          "state": filters.state, "employee_no": filters.employee_no})
    db.session.commit()
    header = _header()
    name = f"{_('Grant register')}_{to_jst(now).strftime('%Y%m%d-%H%M%S')}.{fmt}"
    cells = _row_maker()
    rows = rows_in_app_context(lambda: (cells(row) for row in iter_grant_rows(filters, now)))
    if fmt == "csv":
        return csv_response(name, header, rows)
    return xlsx_response(name, [Sheet(title=_("Grant register"), header=header, rows=rows)])
