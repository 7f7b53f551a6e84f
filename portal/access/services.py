"""The access workflow: request → manager's approval → grant owner's grant, revocation, expiry.

Services take the acting Person, flush and never commit, write one audit event per step in the same
transaction, and raise Refusal (a code, and the form field it concerns) when a rule refuses. A step moves
the request or grant only from the state it was seen in (portal.core.workflow): of two deciding at once
one wins, the other gets StepLost saying what happened; only the winner writes history, audit and mail.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from portal.access import notify
from portal.access.cap import admit_new_grant, cap_specs, headcounts, holders
from portal.access.models import AccessEvent, AccessGrant, AccessRequest, ProtectedSystem
from portal.access.queries import training_overview
from portal.access.refresh import refresh_access_decisions
from portal.access.rules import conflict_of_interest, effective_request_status
from portal.approvals.queries import approver_ids_for
from portal.approvals.rules import explanation_problem, reason_problem
from portal.audit.services import record_event
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.core.workflow import Meanwhile, StepLost, move_step, try_move
from portal.extensions import db
from portal.org.models import Person

OPEN_STATUSES = ("awaiting_approval", "awaiting_grant", "awaiting_training")
LIVE_STATES = ("in_force", "suspended", "waiting_for_room")
#: StepLost subjects of this feature (the views word them).
REQUEST, GRANT = "access_request", "access_grant"


@dataclass(frozen=True)
class GrantDecision:
    """What a grant owner decided: grant (for `days`) or refuse, with a reason."""

    grant: bool
    reason: str
    days: int | None = None
    override_cap: bool = False


@dataclass
class GrantOutcome:
    """The result of a grant decision: the grant, why the portal refused it, or the training it waits for."""

    grant: AccessGrant | None = None
    refused_reasons: list[str] = field(default_factory=list)
    #: Reason codes (training_not_current:<slug>) of the training the request now waits for.
    waiting_for: list[str] = field(default_factory=list)


def request_witness(request: AccessRequest):
    """Who moved a request to its present status, and when (for the loser of a race)."""
    if request.status in ("awaiting_grant", "refused_by_manager"):
        return request.approver, request.approved_at
    if request.status in ("granted", "refused_by_owner", "awaiting_training"):
        return request.decided_by, request.decided_at
    if request.status == "expired":
        return None, request.expires_at
    return None, None


def grant_witness(grant: AccessGrant):
    """Who moved a grant to its present state, and when."""
    if grant.state == "revoked":
        return grant.revoked_by, grant.revoked_at
    if grant.state == "expired":
        return None, grant.expires_at
    return None, None


def _move_request(request: AccessRequest, seen: str, **values) -> None:
    move_step(request, "status", seen, values, subject=REQUEST, witness=request_witness)


def _event(request: AccessRequest, kind: str, actor, now: datetime, *, grant=None, state_after=None,
           reason: str = "", details: dict | None = None, occurred_at: datetime | None = None) -> None:
    """Add one step to the request's (and grant's) history."""
    db.session.add(AccessEvent(
        request_id=request.id, grant_id=grant.id if grant else None, kind=kind, state_after=state_after,
        occurred_at=occurred_at or now, recorded_at=now, actor_id=actor.id if actor else None, reason=reason,
        details_json=json.dumps(details or {}, ensure_ascii=False)))


def request_access(actor: Person, system: ProtectedSystem, purpose: str, explanation: str,
                   now: datetime | None = None) -> AccessRequest:
    """A person asks for access with a purpose and an explanation (sent even if training lacks)."""
    now = now or utcnow()
    if purpose not in system.purposes:
        raise Refusal("purpose_unknown", "purpose")
    problem = explanation_problem(explanation)
    if problem:
        raise Refusal(problem, "explanation")
    open_request = db.session.scalar(select(AccessRequest.id).where(
        AccessRequest.system_id == system.id, AccessRequest.person_id == actor.id,
        AccessRequest.status.in_(OPEN_STATUSES), AccessRequest.expires_at > now))
    if open_request is not None:
        raise Refusal("request_open", request_id=open_request)
    gaps = [{"slug": row.slug, "status": row.status} for row in training_overview(actor, system, now) if not row.counts]
    request = AccessRequest(
        system_id=system.id, person_id=actor.id, purpose=purpose, explanation=explanation.strip(),
        status="awaiting_approval", requested_at=now, expires_at=now + timedelta(days=system.request_expiry_days),
        training_gaps_json=json.dumps(gaps, ensure_ascii=False))
    db.session.add(request)
    db.session.flush()
    _event(request, "requested", actor, now, details={"purpose": purpose, "training_gaps": gaps})
    record_event(actor, "access.requested", object_type="access_request", object_id=request.id,
                 reason=request.explanation, details={"system": system.code, "purpose": purpose, "training_gaps": gaps})
    notify.request_waiting_approval(request)
    return request


def _still_open(request: AccessRequest, expected: str, now: datetime) -> None:
    """Refuse unless the request is still where the person saw it (an expiry found on the way is kept)."""
    status = effective_request_status(request.status, request.expires_at, now)
    if status == "expired" and request.status in OPEN_STATUSES:
        if _expire(request, now):
            raise Refusal("request_expired")
        status = request.status  # someone decided it just before it expired
    if status != expected:
        by, at = request_witness(request)
        raise StepLost(REQUEST, Meanwhile(status, by, at))


def decide_approval(actor: Person, request: AccessRequest, approve: bool, reason: str,
                    now: datetime | None = None) -> None:
    """The requester's manager approves or refuses, with a reason."""
    now = now or utcnow()
    if actor.id == request.person_id:
        raise Refusal("own_request")
    if actor.id not in approver_ids_for(request.person):
        raise Refusal("not_the_manager")
    if reason_problem(reason):
        raise Refusal("reason_too_short", "reason")
    _still_open(request, "awaiting_approval", now)
    _move_request(request, "awaiting_approval", status="awaiting_grant" if approve else "refused_by_manager",
                  approver_id=actor.id, approved_at=now, approval_reason=reason.strip())
    kind = "approved" if approve else "refused"
    _event(request, kind, actor, now, reason=reason.strip())
    record_event(actor, f"access.request_{kind}", object_type="access_request", object_id=request.id,
                 reason=reason.strip(), details={"system": request.system.code, "person": request.person.employee_no})
    if approve:
        notify.request_waiting_grant(request)
    else:
        notify.request_decided(request)


def department_cap_state(system: ProtectedSystem, department_id: int) -> tuple[str | None, int, int]:
    """(the cap as text, e.g. 13% or 3人, or None; headcount of active people; people with a grant in force)."""
    spec = cap_specs([system.id], [department_id]).get((system.id, department_id))
    return (spec.text() if spec else None, headcounts([department_id]).get(department_id, 0),
            holders([system.id], [department_id])[(system.id, department_id)].in_force)


def decide_grant(actor: Person, request: AccessRequest, decision: GrantDecision,
                 now: datetime | None = None) -> GrantOutcome:
    """A grant owner grants (if training is current and the cap allows, or is overridden) or refuses.

    While the requester's training is not current the request is not granted but waits for it
    (awaiting_training); it comes back to the grant owners by itself once the training is current.
    """
    now = now or utcnow()
    system = request.system
    if actor.id not in {owner.id for owner in system.grant_owners}:
        raise Refusal("not_grant_owner")
    conflict = conflict_of_interest(actor.id, request.person_id, request.approver_id)
    if conflict:
        raise Refusal(conflict)
    if reason_problem(decision.reason):
        raise Refusal("reason_too_short", "reason")
    _still_open(request, "awaiting_grant", now)
    reason = decision.reason.strip()
    if not decision.grant:
        _refuse(actor, request, reason, now, {})
        return GrantOutcome()
    person = request.person
    lacking = [f"training_not_current:{row.slug}" for row in training_overview(person, system, now) if not row.counts]
    if not person.active:
        # Refused by the portal whatever the grant owner wanted: logged, and the person is told why.
        lacking.insert(0, "person_inactive")
        _refuse(actor, request, reason, now, {"refused_by_portal": lacking})
        return GrantOutcome(refused_reasons=lacking)
    if lacking:
        _await_training(actor, request, reason, now, lacking)
        return GrantOutcome(waiting_for=lacking)
    if decision.days is None or not 1 <= decision.days <= system.max_grant_days:
        raise Refusal("days_out_of_range", "days", max_days=system.max_grant_days)
    # The request moves once: only the winner goes on to create the grant.
    _move_request(request, "awaiting_grant", status="granted", decided_by_id=actor.id, decided_at=now,
                  decision_reason=reason)
    live = db.session.scalar(select(AccessGrant).where(
        AccessGrant.system_id == system.id, AccessGrant.person_id == person.id, AccessGrant.state.in_(LIVE_STATES)))
    # The standing cap, under its lock: in force, waiting for room (空き待ち), or in force by override.
    entry = admit_new_grant(system.id, person, live, decision.override_cap)
    cap_figures, overridden = entry.figures, entry.overridden
    if live is not None:
        _supersede(actor, live, request, now)
    grant = AccessGrant(request_id=request.id, system_id=system.id, person_id=person.id, granted_by_id=actor.id,
                        granted_at=now, expires_at=now + timedelta(days=decision.days), state=entry.state,
                        cap_overridden=overridden, department_id=person.department_id,
                        waiting_since=(entry.waiting_since or now) if entry.state == "waiting_for_room" else None)
    db.session.add(grant)
    db.session.flush()
    _event(request, "granted", actor, now, grant=grant, state_after=entry.state, reason=reason,
           details={"days": decision.days, "expires_at": grant.expires_at.isoformat(), "cap_overridden": overridden,
                    "cap": cap_figures})
    if overridden:
        record_event(actor, "access.cap_overridden", object_type="access_grant", object_id=grant.id, reason=reason,
                     details={"system": system.code, "department": person.department.code, **cap_figures})
    record_event(actor, "access.granted", object_type="access_grant", object_id=grant.id, reason=reason,
                 details={"system": system.code, "person": person.employee_no, "request": request.id,
                          "purpose": request.purpose, "expires_at": grant.expires_at.isoformat(),
                          "state": entry.state})
    refresh_access_decisions([person.id], system_ids=[system.id], now=now)
    notify.request_decided(request)
    return GrantOutcome(grant=grant)


def _refuse(actor: Person, request: AccessRequest, reason: str, now: datetime, details: dict) -> None:
    _move_request(request, "awaiting_grant", status="refused_by_owner", decided_by_id=actor.id, decided_at=now,
                  decision_reason=reason)
    _event(request, "grant_refused", actor, now, reason=reason, details=details)
    record_event(actor, "access.grant_refused", object_type="access_request", object_id=request.id, reason=reason,
                 details={"system": request.system.code, "person": request.person.employee_no, **details})
    notify.request_decided(request)


def _await_training(actor: Person, request: AccessRequest, reason: str, now: datetime, lacking: list[str]) -> None:
    """The grant owner would grant, but training is not current: the request waits for it (受講完了待ち)."""
    _move_request(request, "awaiting_grant", status="awaiting_training", decided_by_id=actor.id, decided_at=now,
                  decision_reason="")
    _event(request, "awaiting_training", actor, now, reason=reason, details={"training": lacking})
    record_event(actor, "access.request_awaiting_training", object_type="access_request", object_id=request.id,
                 reason=reason, details={"system": request.system.code, "person": request.person.employee_no,
                                         "training": lacking})
    notify.request_awaiting_training(request, lacking)


def _supersede(actor: Person, live: AccessGrant, request: AccessRequest, now: datetime) -> None:
    """A new grant replaces the person's live one: the old one is revoked, saying why (unless it ended meanwhile)."""
    reason = f"superseded by request {request.id}"
    if not try_move(AccessGrant, live.id, "state", LIVE_STATES, {
            "state": "revoked", "revoked_at": now, "revoked_by_id": actor.id, "revoke_reason": reason}):
        return
    db.session.refresh(live)
    _event(live.request, "revoked", actor, now, grant=live, state_after="revoked", reason=live.revoke_reason)
    record_event(actor, "access.revoked", object_type="access_grant", object_id=live.id, reason=live.revoke_reason,
                 details={"system": live.system.code, "person": live.person.employee_no, "superseded": True})


def revoke_grant(actor: Person, grant: AccessGrant, reason: str, now: datetime | None = None) -> None:
    """Revoke a grant at once (a grant owner of the system or the person's manager), with a reason."""
    now = now or utcnow()
    owners = {owner.id for owner in grant.system.grant_owners}
    if actor.id not in owners and actor.id not in approver_ids_for(grant.person):
        raise Refusal("not_allowed_to_revoke")
    if reason_problem(reason):
        raise Refusal("reason_too_short", "reason")
    refresh_access_decisions([grant.person_id], system_ids=[grant.system_id], now=now)  # history first
    db.session.refresh(grant)
    if grant.state not in LIVE_STATES:
        by, at = grant_witness(grant)
        raise StepLost(GRANT, Meanwhile(grant.state, by, at))
    move_step(grant, "state", grant.state, {"state": "revoked", "revoked_at": now, "revoked_by_id": actor.id,
                                            "revoke_reason": reason.strip(), "suspension_json": "[]"},
              subject=GRANT, witness=grant_witness)
    _event(grant.request, "revoked", actor, now, grant=grant, state_after="revoked", reason=reason.strip())
    record_event(actor, "access.revoked", object_type="access_grant", object_id=grant.id, reason=reason.strip(),
                 details={"system": grant.system.code, "person": grant.person.employee_no})
    refresh_access_decisions([grant.person_id], system_ids=[grant.system_id], now=now)
    notify.grant_revoked(grant)


def _expire(request: AccessRequest, now: datetime) -> bool:
    """An undecided request past its expiry becomes expired, once; False when it had moved meanwhile."""
    if not try_move(AccessRequest, request.id, "status", OPEN_STATUSES, {"status": "expired"},
                    AccessRequest.expires_at <= now):
        db.session.refresh(request)
        return False
    db.session.refresh(request)
    _event(request, "request_expired", None, now, occurred_at=min(request.expires_at, now))
    record_event(None, "access.request_expired", object_type="access_request", object_id=request.id,
                 details={"system": request.system.code, "person": request.person.employee_no,
                          "expired_at": request.expires_at.isoformat()})
    notify.request_decided(request)
    return True


def expire_requests(now: datetime | None = None) -> int:
    """Every undecided request past its expiry becomes expired (cron: `portal access expire`)."""
    now = now or utcnow()
    due = db.session.scalars(select(AccessRequest).where(
        AccessRequest.status.in_(OPEN_STATUSES), AccessRequest.expires_at <= now).order_by(AccessRequest.id)).all()
    return sum(_expire(request, now) for request in due)
