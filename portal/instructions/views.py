"""Corrective instruction pages: the register, issuing, one record, acknowledging, reminding."""
from __future__ import annotations

from functools import wraps

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer

from portal.core.access import roles_required, signed_in
from portal.core.bounds import accepts_body, parse_id
from portal.core.errors import conflict_page
from portal.core.exports import content_disposition
from portal.core.i18n import current_locale, format_jst
from portal.core.labels import StateLabels
from portal.core.refusals import Refusal, apply_refusal_to_form
from portal.core.workflow import StepLost
from portal.extensions import db
from portal.instructions import queries, rules
from portal.instructions.blueprint import bp
from portal.instructions.forms import ActionForm, InstructionForm, RegisterSearchForm
from portal.instructions.models import InstructionAttachment
from portal.instructions.services import (
    IssueData,
    NotARecipient,
    NothingToRemind,
    acknowledge_instruction,
    issue_instruction,
    remind_instruction,
)
from portal.outbox.services import queue_mails

#: The whole issue form may carry 5 files of 5 MB; beyond this the request itself is refused (413).
MAX_ISSUE_REQUEST_BYTES = 64 * 1024 * 1024
SEARCH_ARGS = frozenset({"q", "department", "status"} | {
    f"{name}-{part}" for name in ("issued_from", "issued_to") for part in ("year", "month", "day")})
STATUS_LABELS = StateLabels({"open": _l("Awaiting acknowledgement"), "overdue": _l("Overdue"),
                             "complete": _l("Fully acknowledged"), "corrected": _l("Corrected")})


def refuse_auditors(view):
    """Auditors read everything and change nothing: 403 on this write before anything else."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if current_user.has_role("auditor"):
            abort(403)
        return view(*args, **kwargs)

    return guarded


def _viewer():
    return current_user._get_current_object()


@bp.app_template_global("pending_instructions")
def pending_instructions(person) -> list:
    """Home page: the instructions this person has still to acknowledge, flagged when overdue."""
    today = queries.today_jst()
    return [{**row._asdict(), "overdue": row.acknowledge_by < today} for row in queries.pending_for(person)]


bp.add_app_template_global(rules.instruction_status, "instruction_status")


@bp.app_template_global("instruction_status_label")
def instruction_status_label(status: str) -> str:
    """The short word for a status, in the viewer's language."""
    return STATUS_LABELS.label_for(status)


def search_filters(args) -> tuple[RegisterSearchForm, queries.RegisterFilters | None]:
    """The register's search form from the query string, and its filters (None when invalid)."""
    form = RegisterSearchForm(formdata=args)
    form.department.choices = [("", _("All"))] + [
        (str(d.id), d.display_name(current_locale())) for d in queries.all_departments()]
    form.status.choices = [("", _("All"))] + STATUS_LABELS.choices(rules.STATUSES)
    valid = form.validate()
    if valid and form.issued_from.data and form.issued_to.data and form.issued_from.data > form.issued_to.data:
        form.issued_to.errors = [*form.issued_to.errors, _("The end date must not be before the start date.")]
        valid = False
    if not valid:
        return form, None
    department = form.department.data or ""
    status = form.status.data if form.status.data in rules.STATUSES else ""
    return form, queries.RegisterFilters(
        text=(form.q.data or "").strip(), issued_from=form.issued_from.data, issued_to=form.issued_to.data,
        department_id=parse_id(department), status=status)


@bp.route("/")
@signed_in
def register():
    """Every instruction the viewer may see, searchable, newest first."""
    viewer = _viewer()
    form, filters = search_filters(request.args)
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = queries.register_page(viewer, filters, page) if filters else ([], 0)
    # Only the search's own fields go back into links (never url_for's _external, _scheme...).
    query_args = {k: v for k, v in request.args.items() if k in SEARCH_ARGS}
    return render_template(
        "instructions/register.html", form=form, rows=rows, total=total, page=page,
        pages=max((total + queries.PAGE_SIZE - 1) // queries.PAGE_SIZE, 1), query_args=query_args,
        today=queries.today_jst(), can_issue=viewer.has_role("manager", "admin") and not viewer.has_role("auditor"),
    ), (200 if filters else 400)


def _issue_data(form: InstructionForm) -> IssueData:
    attachments = []
    for storage in request.files.getlist(form.attachments.name):
        if storage and storage.filename:
            # Read one byte past the limit: enough to refuse a huge file without reading it whole.
            size = storage.stream.seek(0, 2)
            storage.stream.seek(0)
            attachments.append((storage.filename, storage.stream.read(rules.ATTACHMENT_MAX_BYTES + 1), size))
    corrects = form.corrects.data or ""
    return IssueData(
        title=form.title.data or "", body_md=form.body.data or "", reason=form.reason.data or "",
        acknowledge_by=form.acknowledge_by.data, department_codes=list(form.departments.data or []),
        employee_numbers=rules.parse_employee_numbers(form.people.data or ""), attachments=attachments,
        corrects_id=parse_id(corrects))


def _prefill_from(form: InstructionForm, original, allowed_codes: set[str]) -> None:
    spec = original.recipient_spec
    form.title.data = original.title
    form.body.data = original.body_md
    form.reason.data = original.reason
    form.departments.data = [code for code in spec.get("departments", []) if code in allowed_codes]
    form.people.data = "\n".join(spec.get("people", []))
    form.corrects.data = str(original.id)


@bp.route("/new", methods=["GET", "POST"])
@accepts_body(MAX_ISSUE_REQUEST_BYTES)  # set before the CSRF check reads the form
@roles_required("manager", "admin")
@refuse_auditors
def new():
    """Issue an instruction (or, with ?corrects=ID, a correction of one)."""
    actor = _viewer()
    form = InstructionForm()
    departments = queries.issuable_departments(actor)
    form.departments.choices = [(d.code, d.display_name(current_locale())) for d in departments]
    corrects_raw = form.corrects.data if request.method == "POST" else request.args.get("corrects", "")
    original = None
    if corrects_raw:
        corrects_id = parse_id(str(corrects_raw))
        if corrects_id is None:
            abort(404)
        original = queries.load_visible_instruction(actor, corrects_id)
        if original.issuer_id != actor.id and not actor.has_role("admin"):
            abort(403)  # they may read it, but only its issuer or an admin corrects it
    if request.method == "GET":
        if original is not None:
            _prefill_from(form, original, {d.code for d in departments})
        return render_template("instructions/new.html", form=form, departments=departments, original=original)
    form.validate()
    try:
        instruction = issue_instruction(actor, _issue_data(form))
    except Refusal as error:
        db.session.rollback()
        apply_refusal_to_form(form, error, keep_own_errors=["acknowledge_by"])  # a typo'd date already says why
        instruction = None
    if form.errors or instruction is None:
        db.session.rollback()
        return render_template("instructions/new.html", form=form, departments=departments,
                               original=original), 400
    try:
        db.session.commit()
    except IntegrityError:  # someone corrected the same instruction a moment ago
        db.session.rollback()
        form.title.errors = [*form.title.errors, _("This instruction has just been corrected by someone else.")]
        return render_template("instructions/new.html", form=form, departments=departments,
                               original=original), 409
    flash(_("The instruction has been issued (No. %(number)s).", number=instruction.id), "success")
    return redirect(url_for("instructions.detail", instruction_id=instruction.id))


@bp.route("/<int:instruction_id>")
@signed_in
def detail(instruction_id: int):
    """One instruction as issued, with the viewer's acknowledgement and, for those who follow it, progress."""
    viewer = _viewer()
    instruction = queries.load_visible_instruction(viewer, instruction_id)
    facts = queries.instruction_facts(instruction)
    scope = queries.oversight_scope(viewer, instruction)
    overseeing = scope is None or bool(scope)
    rows = queries.recipient_rows(instruction, scope, viewer, current_locale()) if overseeing else []
    is_recipient, acknowledged_at = queries.own_acknowledgement(instruction, viewer)
    corrected = facts["corrected_by"] is not None
    writer = not viewer.has_role("auditor")
    status = rules.instruction_status(instruction.acknowledge_by, queries.today_jst(), facts["recipients"],
                                      facts["acknowledged"], corrected)
    return render_template(
        "instructions/detail.html", instruction=instruction, facts=facts, rows=rows, overseeing=overseeing,
        progress=rules.progress_by_department(rows), status=status, is_recipient=is_recipient,
        acknowledged_at=acknowledged_at, can_acknowledge=writer and is_recipient and acknowledged_at is None,
        can_remind=writer and overseeing and viewer.has_role("manager", "admin") and not corrected
        and any(r["acknowledged_at"] is None for r in rows),
        can_correct=writer and not corrected and viewer.has_role("manager", "admin")
        and (instruction.issuer_id == viewer.id or viewer.has_role("admin")),
        action_form=ActionForm(), today=queries.today_jst(),
    )


@bp.route("/<int:instruction_id>/acknowledge", methods=["POST"])
@signed_in
@refuse_auditors
def acknowledge(instruction_id: int):
    """A recipient confirms they have read the instruction."""
    viewer = _viewer()
    instruction = queries.load_visible_instruction(viewer, instruction_id)
    client = f"{request.remote_addr or ''} {request.user_agent.string}".strip()
    try:
        acknowledge_instruction(viewer, instruction, client)
        db.session.commit()
    except NotARecipient:
        db.session.rollback()
        abort(403)
    except StepLost as lost:
        db.session.rollback()
        return conflict_page(_("You had already acknowledged this instruction.") + _(
            " (%(when)s, Japan time)", when=format_jst(lost.meanwhile.at)),
            url_for("instructions.detail", instruction_id=instruction.id))
    flash(_("Thank you: your acknowledgement has been recorded."), "success")
    return redirect(url_for("instructions.detail", instruction_id=instruction.id))


@bp.route("/<int:instruction_id>/remind", methods=["POST"])
@roles_required("manager", "admin")
@refuse_auditors
def remind(instruction_id: int):
    """Remind the recipients (in the viewer's scope) who have not acknowledged yet."""
    viewer = _viewer()
    instruction = queries.load_visible_instruction(viewer, instruction_id)
    scope = queries.oversight_scope(viewer, instruction)
    if scope is not None and not scope:
        abort(403)
    link = current_app.config["PORTAL_BASE_URL"].rstrip("/") + url_for(
        "instructions.detail", instruction_id=instruction.id)
    try:
        mails = remind_instruction(viewer, instruction, scope, link)
    except NothingToRemind:
        db.session.rollback()
        flash(_("There is nobody to remind."), "warning")
        return redirect(url_for("instructions.detail", instruction_id=instruction.id))
    sent = queue_mails(mails, "instruction-reminder")  # the outbox: sent by a consumer once this commits
    db.session.commit()
    flash(_("Reminder recorded; %(count)d e-mail(s) sent.", count=sent), "success")
    return redirect(url_for("instructions.detail", instruction_id=instruction.id))


@bp.route("/<int:instruction_id>/attachments/<int:attachment_id>")
@signed_in
def attachment(instruction_id: int, attachment_id: int):
    """An attachment as a download: its detected type only, never shown inline."""
    instruction = queries.load_visible_instruction(_viewer(), instruction_id)
    item = db.session.scalar(
        select(InstructionAttachment).options(undefer(InstructionAttachment.data))
        .where(InstructionAttachment.id == attachment_id, InstructionAttachment.instruction_id == instruction.id))
    if item is None:
        abort(404)
    response = Response(item.data, mimetype=item.content_type)
    response.headers["Content-Disposition"] = content_disposition(item.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

