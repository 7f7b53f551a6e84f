"""Look-up request pages: my requests, asking, one request with its history and the next step for
whoever acts next, the manager's inbox, the handler's queue."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.access.models import ProtectedSystem
from portal.approvals.forms import ApprovalForm
from portal.core.access import no_auditor_writes, roles_required, signed_in
from portal.core.errors import conflict_page
from portal.core.refusals import Refusal, apply_refusal_to_form
from portal.core.timeutil import as_utc, utcnow
from portal.core.workflow import Meanwhile, StepLost
from portal.extensions import db
from portal.lookups import messages, queries, rules
from portal.lookups.blueprint import bp
from portal.lookups.forms import ActionForm, AnswerForm, LookupForm, WithdrawForm
from portal.lookups.models import LookupRequest
from portal.lookups.services import (
    SUBJECT,
    LookupData,
    answer_lookup,
    decide_lookup_approval,
    request_lookup,
    take_lookup,
    withdraw_lookup,
)


@bp.context_processor
def _wording() -> dict:
    """Labels the look-up templates use for statuses and history steps."""
    return {"lookup_status_label": messages.status_label,
            "lookup_event_label": messages.EVENT_LABELS.label_for}


def _viewer():
    return current_user._get_current_object()


def _status(lookup) -> str:
    return rules.effective_status(lookup.status, as_utc(lookup.expires_at), utcnow())


@bp.route("/")
@signed_in
def index():
    """The person's own look-up requests, and the systems they may ask about."""
    viewer = _viewer()
    return render_template("lookups/index.html", lookups=queries.my_lookups(viewer), systems=queries.systems(),
                           status_of=_status)


def _system(code: str) -> ProtectedSystem:
    system = db.session.scalar(select(ProtectedSystem).where(ProtectedSystem.code == code))
    if system is None:
        abort(404)
    return system


@bp.route("/systems/<code>/new", methods=["GET", "POST"])
@signed_in
@no_auditor_writes
def new(code: str):
    """Ask an authorised colleague to check something: purpose, explanation, question, reference."""
    system = _system(code)
    viewer = _viewer()
    form = LookupForm()
    form.purpose.choices = [SelectChoice(p, p) for p in system.purposes]
    if form.is_submitted():
        if not form.validate():  # only the CSRF token can fail here: the services check the texts
            return render_template("lookups/new.html", system=system, form=form), 400
        data = LookupData(purpose=form.purpose.data or "", explanation=form.explanation.data or "",
                          question=form.question.data or "", reference=form.reference.data or "")
        try:
            created = request_lookup(viewer, system, data)
        except Refusal as error:
            db.session.rollback()
            apply_refusal_to_form(form, error, messages.error_text)
        else:
            db.session.commit()
            flash(_("Your look-up request was sent to your manager (No. %(number)s).", number=created.id), "success")
            return redirect(url_for("lookups.detail", lookup_id=created.id))
        return render_template("lookups/new.html", system=system, form=form), 400
    return render_template("lookups/new.html", system=system, form=form)


def _detail(lookup, *, approval_form=None, answer_form=None, code: int = 200):
    viewer = _viewer()
    now = utcnow()
    status = rules.effective_status(lookup.status, as_utc(lookup.expires_at), now)
    writer = not viewer.has_role("auditor")
    may_approve = writer and status == "awaiting_approval" and queries.is_approver_for(viewer, lookup)
    may_take = (writer and status == "awaiting_handler" and lookup.handler_id is None
                and rules.handling_conflict(viewer.id, lookup.requester_id, lookup.approver_id) is None
                and queries.grant_in_force(viewer.id, lookup.system_id, now))
    may_answer = writer and status == "in_progress" and lookup.handler_id == viewer.id
    may_withdraw = writer and status in rules.WAITING and lookup.requester_id == viewer.id
    return render_template(
        "lookups/detail.html", lookup=lookup, status=status, history=queries.history(lookup.id),
        may_approve=may_approve, may_take=may_take, may_answer=may_answer, may_withdraw=may_withdraw,
        approval_form=approval_form or (ApprovalForm() if may_approve else None),
        answer_form=answer_form or (AnswerForm() if may_answer else None),
        action_form=ActionForm(), withdraw_form=WithdrawForm()), code


@bp.route("/<int:lookup_id>")
@signed_in
def detail(lookup_id: int):
    """One look-up request: what was asked and why, every step so far, and the next step's form."""
    return _detail(queries.load_visible(_viewer(), lookup_id))


def _refused(lookup, error: Refusal):
    """Show why the action was refused; keep an expiry found on the way, undo everything else."""
    if error.code == "request_expired":
        db.session.commit()
    else:
        db.session.rollback()
    flash(messages.error_text(error.code, **error.details), "error")
    return redirect(url_for("lookups.detail", lookup_id=lookup.id))


def _lost(lookup_id: int, lost: StepLost):
    """Someone acted first: say what happened (HTTP 409), nothing done.

    Back to the request's page, except when another handler took it: its page is theirs now, so
    back to the queue.
    """
    db.session.rollback()
    viewer = _viewer()
    taken_by_other = lost.meanwhile.state == "in_progress" and getattr(lost.meanwhile.by, "id", None) != viewer.id
    back = url_for("lookups.queue") if taken_by_other else url_for("lookups.detail", lookup_id=lookup_id)
    return conflict_page(messages.meanwhile_text(lost, viewer), back)


@bp.route("/<int:lookup_id>/approval", methods=["POST"])
@roles_required("manager")
@no_auditor_writes
def approve(lookup_id: int):
    """The requester's manager approves or refuses, with a reason."""
    lookup = queries.load_visible(_viewer(), lookup_id)
    form = ApprovalForm()
    if form.validate_on_submit():
        try:
            decide_lookup_approval(_viewer(), lookup, form.decision.data == "approve", form.reason.data)
        except StepLost as lost:
            return _lost(lookup_id, lost)
        except Refusal as error:
            if error.field is None:
                return _refused(lookup, error)
            db.session.rollback()
            apply_refusal_to_form(form, error, messages.error_text)
        else:
            db.session.commit()
            flash(_("Approved: people authorised for the system can now take it.") if form.decision.data == "approve"
                  else _("Refused: the requester has been told."), "success")
            return redirect(url_for("lookups.inbox"))
    return _detail(lookup, approval_form=form, code=400)


@bp.route("/<int:lookup_id>/take", methods=["POST"])
@signed_in
@no_auditor_writes
def take(lookup_id: int):
    """A person whose grant for the system is in force takes the request; one taker only.

    Of two handlers pressing "take" at once, the one who lost is sent back to the queue with
    "someone else has already taken this request" (they may no longer see the request itself).
    """
    viewer = _viewer()
    lookup = db.session.get(LookupRequest, lookup_id)
    if lookup is not None and queries.taken_by_another_handler(viewer, lookup):
        return _lost(lookup_id, StepLost(SUBJECT, Meanwhile("in_progress")))
    lookup = queries.load_visible(viewer, lookup_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        take_lookup(viewer, lookup)
    except StepLost as lost:
        return _lost(lookup_id, lost)
    except Refusal as error:
        return _refused(lookup, error)
    db.session.commit()
    flash(_("You have taken this request: check, then record the answer."), "success")
    return redirect(url_for("lookups.detail", lookup_id=lookup.id))


@bp.route("/<int:lookup_id>/answer", methods=["POST"])
@signed_in
@no_auditor_writes
def answer(lookup_id: int):
    """The handler records what was checked and the answer given, and closes the request."""
    lookup = queries.load_visible(_viewer(), lookup_id)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            answer_lookup(_viewer(), lookup, form.checked.data or "", form.answer.data or "")
        except StepLost as lost:
            return _lost(lookup_id, lost)
        except Refusal as error:
            if error.field is None:
                return _refused(lookup, error)
            db.session.rollback()
            apply_refusal_to_form(form, error, messages.error_text)
        else:
            db.session.commit()
            flash(_("Answer recorded; the request is closed and the requester has been told."), "success")
            return redirect(url_for("lookups.queue"))
    return _detail(lookup, answer_form=form, code=400)


@bp.route("/<int:lookup_id>/withdraw", methods=["POST"])
@signed_in
@no_auditor_writes
def withdraw(lookup_id: int):
    """The requester withdraws a request nobody has taken yet."""
    lookup = queries.load_visible(_viewer(), lookup_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        withdraw_lookup(_viewer(), lookup, form.reason.data or "")
    except StepLost as lost:
        return _lost(lookup_id, lost)
    except Refusal as error:
        return _refused(lookup, error)
    db.session.commit()
    flash(_("Your look-up request was withdrawn."), "success")
    return redirect(url_for("lookups.detail", lookup_id=lookup.id))


@bp.route("/inbox")
@roles_required("manager")
def inbox():
    """Look-up requests waiting for this manager's approval, and those they decided."""
    viewer = _viewer()
    return render_template("lookups/inbox.html", waiting=queries.awaiting_approval_by(viewer, utcnow()),
                           decided=queries.decided_by(viewer), status_of=_status)


@bp.route("/queue")
@signed_in
def queue():
    """Approved look-ups this person may take (their grant for the system is in force), and theirs."""
    viewer = _viewer()
    open_items, taken = queries.handler_queue(viewer, utcnow())
    return render_template("lookups/queue.html", open_items=open_items, taken=taken,
                           in_force=bool(queries.systems_in_force_for(viewer)), status_of=_status)


