"""Exports: the register and one instruction's record, as CSV and as PDF. Each is audited."""
from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.core.access import signed_in
from portal.core.exports import content_disposition, csv_response
from portal.core.i18n import current_locale, format_jst
from portal.core.pdf import render_pdf, static_stylesheet
from portal.core.timeutil import to_jst, utcnow
from portal.extensions import db
from portal.instructions import queries, rules
from portal.instructions.blueprint import bp
from portal.instructions.services import record_instruction_export
from portal.instructions.views import instruction_status_label, search_filters


def _stamp() -> str:
    return to_jst(utcnow()).strftime("%Y%m%d-%H%M")


def _register_filename(extension: str) -> str:
    return _("instruction-register-%(stamp)s.%(extension)s", stamp=_stamp(), extension=extension)


def _record_filename(number: int, extension: str) -> str:
    return _("instruction-%(number)s-%(stamp)s.%(extension)s", number=number, stamp=_stamp(), extension=extension)


def _render(html: str) -> bytes:
    """The report stylesheet is parsed once per process (portal/core/pdf.py), not per render."""
    return render_pdf(html, stylesheets=[static_stylesheet("css/pdf-report.css")])


def _pdf_response(pdf: bytes, filename: str) -> Response:
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response


#: A PDF of more rows takes too long to lay out in a request (~5 ms a row); the CSVs carry them all.
PDF_REGISTER_LIMIT = 1000
PDF_RECORD_PEOPLE_LIMIT = 1000


def _register_rows(limit: int | None = None):
    viewer = current_user._get_current_object()
    form, filters = search_filters(request.args)
    if filters is None:
        abort(400)
    return viewer, filters, queries.register_export_rows(viewer, filters, limit)


def _status(row, today) -> str:
    return rules.instruction_status(row.Instruction.acknowledge_by, today, row.recipients, row.acknowledged,
                                    row.corrected_by is not None)


@bp.route("/register.csv")
@signed_in
def register_csv():
    """The register (as searched) as CSV."""
    viewer, filters, rows = _register_rows()
    today = queries.today_jst()
    record_instruction_export(viewer, "csv", criteria=filters.as_dict(), rows=len(rows))
    db.session.commit()
    header = [_("No."), _("Subject"), _("Issued (JST)"), _("Issuer"), _("Issuer employee number"),
              _("Acknowledge by"), _("Departments and sales agencies"), _("Named people"), _("Recipients"),
              _("Acknowledged"), _("Status"), _("Corrects No."), _("Corrected by No."), _("Content hash")]
    body = [
        [r.Instruction.id, r.Instruction.title, format_jst(r.Instruction.issued_at), r.Instruction.issuer.name,
         r.Instruction.issuer.employee_no, r.Instruction.acknowledge_by.isoformat(),
         " ".join(r.Instruction.recipient_spec.get("departments", [])),
         " ".join(r.Instruction.recipient_spec.get("people", [])), r.recipients, r.acknowledged,
         instruction_status_label(_status(r, today)), r.Instruction.corrects_id or "", r.corrected_by or "",
         r.Instruction.content_hash]
        for r in rows
    ]
    return csv_response(_register_filename("csv"), header, body)


@bp.route("/register.pdf")
@signed_in
def register_pdf():
    """The register (as searched) as PDF."""
    viewer, filters, rows = _register_rows(PDF_REGISTER_LIMIT + 1)
    truncated = len(rows) > PDF_REGISTER_LIMIT
    rows = rows[:PDF_REGISTER_LIMIT]
    today = queries.today_jst()
    html = render_template("instructions/pdf_register.html", rows=rows, filters=filters, today=today,
                           truncated=truncated, limit=PDF_REGISTER_LIMIT,
                           statuses={r.Instruction.id: _status(r, today) for r in rows}, viewer=viewer,
                           generated_at=utcnow(), departments={d.id: d for d in queries.all_departments()})
    pdf = _render(html)
    record_instruction_export(viewer, "pdf", criteria=filters.as_dict(), rows=len(rows))
    db.session.commit()
    return _pdf_response(pdf, _register_filename("pdf"))


def _record(instruction_id: int):
    """The instruction and its acknowledgements in the viewer's scope; 403 for plain recipients."""
    viewer = current_user._get_current_object()
    instruction = queries.load_visible_instruction(viewer, instruction_id)
    scope = queries.oversight_scope(viewer, instruction)
    if scope is not None and not scope:
        abort(403)
    return viewer, instruction, scope, queries.recipient_rows(instruction, scope, viewer, current_locale())


@bp.route("/<int:instruction_id>/acknowledgements.csv")
@signed_in
def acknowledgements_csv(instruction_id: int):
    """Who has and has not acknowledged one instruction, as CSV."""
    viewer, instruction, scope, rows = _record(instruction_id)
    record_instruction_export(viewer, "csv", instruction_id=instruction.id,
                              criteria={"scope": "all" if scope is None else sorted(scope)}, rows=len(rows))
    db.session.commit()
    header = [_("No."), _("Subject"), _("Department code"), _("Department"), _("Kind"), _("Employee number"),
              _("Full name"), _("Acknowledged (JST)"), _("Status")]
    body = [
        [instruction.id, instruction.title, r["department_code"], r["department_name"],
         _("Sales agency") if r["department_kind"] == "agency" else _("Internal"), r["employee_no"], r["name"],
         format_jst(r["acknowledged_at"]) if r["acknowledged_at"] else "",
         _("Acknowledged") if r["acknowledged_at"] else _("Not yet acknowledged")]
        for r in rows
    ]
    return csv_response(_record_filename(instruction.id, "csv"), header, body)


@bp.route("/<int:instruction_id>/record.pdf")
@signed_in
def record_pdf(instruction_id: int):
    """One instruction as issued, with its recipients and acknowledgements, as PDF."""
    viewer, instruction, scope, rows = _record(instruction_id)
    facts = queries.instruction_facts(instruction)
    status = rules.instruction_status(instruction.acknowledge_by, queries.today_jst(), facts["recipients"],
                                      facts["acknowledged"], facts["corrected_by"] is not None)
    html = render_template("instructions/pdf_record.html", instruction=instruction, facts=facts,
                           rows=rows[:PDF_RECORD_PEOPLE_LIMIT], omitted=max(len(rows) - PDF_RECORD_PEOPLE_LIMIT, 0),
                           progress=rules.progress_by_department(rows), status=status, partial=scope is not None,
                           viewer=viewer, generated_at=utcnow(), locale=current_locale())
    pdf = _render(html)
    record_instruction_export(viewer, "pdf", instruction_id=instruction.id,
                              criteria={"scope": "all" if scope is None else sorted(scope)}, rows=len(rows))
    db.session.commit()
    return _pdf_response(pdf, _record_filename(instruction.id, "pdf"))
