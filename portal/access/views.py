"""Requesting access, approving, granting, and what waits for whom."""
from __future__ import annotations

import json

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.access import admin_views, cap_views, grant_views, register_views, review_views  # noqa: F401  (same blueprint)  # noqa: F401  (same blueprint: standing cap, registers)
from portal.access.blueprint import bp, found, lost_page, viewer
from portal.access.cap import waiting_ahead
from portal.access.forms import GrantForm, RequestForm, ReviewForm
from portal.access.messages import error_text, reason_text
from portal.access.models import AccessDecision, AccessGrant, AccessRequest, ProtectedSystem
from portal.access.queries import (
    approver_ids_for,
    awaiting_approval_by,
    awaiting_grant_by,
    may_view_request,
    my_grants,
    my_requests,
    request_history,
    reviews_waiting_for,
    systems_for_requests,
    training_overview,
)
from portal.access.rules import conflict_of_interest, effective_request_status
from portal.access.services import (
    GrantDecision,
    decide_approval,
    decide_grant,
    department_cap_state,
    request_access,
)
from portal.approvals.forms import ApprovalForm
from portal.core.access import no_auditor_writes, roles_required, signed_in
from portal.core.refusals import Refusal, apply_refusal_to_form
from portal.core.timeutil import to_jst, utcnow
from portal.core.workflow import StepLost
from portal.extensions import db

__all__ = ["bp"]


@bp.app_template_global("access_waiting")
def access_waiting(person) -> dict:
    """Counts of what waits for this person (home page): approvals, grants, reviews."""
    now = utcnow()
    return {"approvals": len(awaiting_approval_by(person, now)) if person.has_role("manager") else 0,
            "grants": len(awaiting_grant_by(person, now)) if person.has_role("grant_owner") else 0,
            "reviews": len(reviews_waiting_for(person)) if person.has_role("manager") else 0}


@bp.route("/")
@signed_in
def index():
    """The person's own grants and requests, and the systems they may ask for."""
    person = viewer()
    decisions = {row.grant_id: json.loads(row.reasons_json) for row in db.session.scalars(
        select(AccessDecision).where(AccessDecision.person_id == person.id))}
    return render_template("access/index.html", grants=my_grants(person), requests=my_requests(person),
                           systems=systems_for_requests(), decisions=decisions, now=utcnow())


def _system(code: str) -> ProtectedSystem:
    return found(db.session.scalar(select(ProtectedSystem).where(ProtectedSystem.code == code)))


@bp.route("/systems/<code>/request", methods=["GET", "POST"])
@signed_in
@no_auditor_writes
def request_form(code: str):
    """Ask for access: see first whether training is current and exactly what is missing."""
    system = _system(code)
    person = viewer()
    form = RequestForm()
    form.purpose.choices = [SelectChoice(p, p) for p in system.purposes]
    refused = False
    if form.validate_on_submit():
        try:
            created = request_access(person, system, form.purpose.data, form.explanation.data)
        except Refusal as error:
            db.session.rollback()
            apply_refusal_to_form(form, error, error_text)
            refused = True
        else:
            db.session.commit()
            flash(_("Your request was sent to your manager."), "success")
            return redirect(url_for("access.request_detail", request_id=created.id))
    status = 400 if form.errors or refused else 200
    return render_template("access/request_form.html", system=system, form=form,
                           training=training_overview(person, system),
                           has_approver=bool(approver_ids_for(person))), status


def _request(request_id: int) -> AccessRequest:
    """The request if the viewer may see it; 404 otherwise."""
    found_request = found(db.session.get(AccessRequest, request_id))
    if not may_view_request(viewer(), found_request):
        found(None)
    return found_request


def _detail(access_request: AccessRequest, approval_form=None, grant_form=None, code: int = 200):
    person = viewer()
    now = utcnow()
    status = effective_request_status(access_request.status, access_request.expires_at, now)
    may_approve = (status == "awaiting_approval" and person.has_role("manager")
                   and person.id in approver_ids_for(access_request.person))
    owners = {o.id for o in access_request.system.grant_owners}
    may_grant = (status == "awaiting_grant" and person.has_role("grant_owner") and person.id in owners
                 and conflict_of_interest(person.id, access_request.person_id, access_request.approver_id) is None)
    cap = department_cap_state(access_request.system, access_request.person.department_id) if may_grant else None
    if may_grant and grant_form is None:
        grant_form = GrantForm(data={"days": access_request.system.max_grant_days})
    training = training_overview(access_request.person, access_request.system, now)
    if grant_form is not None:
        # While training is not current the grant owner cannot choose "grant": only wait for it, or refuse.
        offered = ("wait", "refuse") if any(not row.counts for row in training) else ("grant", "refuse")
        grant_form.decision.choices = [c for c in grant_form.decision.choices if next(iter(c)) in offered]
    granted = db.session.scalar(select(AccessGrant.id).where(AccessGrant.request_id == access_request.id))
    return render_template(
        "access/request_detail.html", req=access_request, status=status, history=request_history(access_request.id),
        grant_id=granted,
        training=training,
        approval_form=approval_form or (ApprovalForm() if may_approve else None), grant_form=grant_form,
        may_approve=may_approve, may_grant=may_grant, cap=cap), code


@bp.route("/requests/<int:request_id>")
@signed_in
def request_detail(request_id: int):
    """One request: purpose, training, every step so far, and the decision forms for who decides next."""
    return _detail(_request(request_id))


def _end_failed(error: Refusal) -> None:
    """Undo a refused action, but keep the expiry of a request found expired on the way."""
    if error.code == "request_expired":
        db.session.commit()
    else:
        db.session.rollback()


@bp.route("/requests/<int:request_id>/approval", methods=["POST"])
@roles_required("manager")
@no_auditor_writes
def approve(request_id: int):
    """The requester's manager approves or refuses, with a reason."""
    access_request = _request(request_id)
    form = ApprovalForm()
    if form.validate_on_submit():
        try:
            decide_approval(viewer(), access_request, form.decision.data == "approve", form.reason.data)
        except StepLost as lost:
            return lost_page(lost, url_for("access.request_detail", request_id=request_id))
        except Refusal as error:
            _end_failed(error)
            apply_refusal_to_form(form, error, error_text)
        else:
            db.session.commit()
            flash(_("Approved: the grant owners have been told.") if form.decision.data == "approve"
                  else _("Refused: the requester has been told."), "success")
            return redirect(url_for("access.inbox"))
    return _detail(access_request, approval_form=form, code=400)


@bp.route("/requests/<int:request_id>/grant", methods=["POST"])
@roles_required("grant_owner")
@no_auditor_writes
def grant(request_id: int):
    """A grant owner grants or refuses; the portal refuses a grant while training is not current."""
    access_request = _request(request_id)
    form = GrantForm()
    if form.validate_on_submit():
        decision = GrantDecision(grant=form.decision.data in ("grant", "wait"), reason=form.reason.data,
                                 days=form.days.data, override_cap=bool(form.override_cap.data))
        try:
            outcome = decide_grant(viewer(), access_request, decision)
        except StepLost as lost:
            return lost_page(lost, url_for("access.request_detail", request_id=request_id))
        except Refusal as error:
            _end_failed(error)
            apply_refusal_to_form(form, error, error_text)
        else:
            db.session.commit()
            if outcome.waiting_for:
                flash(_("The requester's training is not current (%(reasons)s): the request waits for it and "
                        "comes back to the grant owners by itself. The requester has been told what to finish.",
                        reasons="、".join(reason_text(r) for r in outcome.waiting_for)), "success")
            elif outcome.refused_reasons:
                flash(_("The grant was refused by the portal: %(reasons)s. The requester has been told.",
                        reasons="、".join(reason_text(r) for r in outcome.refused_reasons)), "error")
            elif outcome.grant is not None and outcome.grant.state == "waiting_for_room":
                flash(_("Granted, but the department's cap has no room: the grant waits for a place "
                        "(%(ahead)s ahead of it).", ahead=waiting_ahead(outcome.grant)), "success")
            elif outcome.grant is not None:
                flash(_("Granted until %(date)s.", date=to_jst(outcome.grant.expires_at).date().isoformat()), "success")
            else:
                flash(_("Refused: the requester has been told."), "success")
            return redirect(url_for("access.request_detail", request_id=access_request.id))
    return _detail(access_request, grant_form=form, code=400)


@bp.route("/inbox")
@roles_required("manager", "grant_owner")
def inbox():
    """Waiting for you: requests to approve, requests to grant, grants to review."""
    person = viewer()
    now = utcnow()
    reviews = reviews_waiting_for(person) if person.has_role("manager") else []
    return render_template(
        "access/inbox.html", now=now,
        approvals=awaiting_approval_by(person, now) if person.has_role("manager") else [],
        grants=awaiting_grant_by(person, now) if person.has_role("grant_owner") else [],
        reviews=reviews, review_forms={item.id: ReviewForm(prefix=f"item{item.id}") for item in reviews})
