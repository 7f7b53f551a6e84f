"""The look-up workflow: request → manager's approval → a grant holder takes it → answer.

Services take the acting Person explicitly, flush and never commit, write one history step and one
audit event per change in the same transaction, and refuse with Refusal (portal.core.refusals: a code,
with the form field it concerns when the input was at fault; nothing written). Every state change moves the request
only from the status it was seen in (portal.core.workflow), so of two people acting at once exactly
one wins; the other gets StepLost saying what happened meanwhile, and nothing is written for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from portal.access.models import ProtectedSystem
from portal.approvals.queries import approver_ids_for
from portal.audit.services import record_event
from portal.core.refusals import Refusal
from portal.core.timeutil import as_utc, utcnow
from portal.core.workflow import Meanwhile, StepLost, move_step, try_move
from portal.extensions import db
from portal.lookups import notify, rules
from portal.lookups.models import LookupEvent, LookupRequest
from portal.lookups.queries import grant_in_force, is_approver_for
from portal.org.models import Person


@dataclass
class LookupData:
    """What the requester entered, as plain data (the view builds it from the form)."""

    purpose: str
    explanation: str
    question: str
    reference: str = ""


def _add(errors: list[Refusal], field: str, code: str | None) -> None:
    if code:
        errors.append(Refusal(code, field))


def _step(lookup: LookupRequest, kind: str, actor: Person | None, now: datetime, note: str = "") -> None:
    db.session.add(LookupEvent(request_id=lookup.id, kind=kind, status_after=lookup.status, occurred_at=now,
                               actor_id=actor.id if actor else None, note=note))


def _audit(actor: Person | None, lookup: LookupRequest, kind: str, reason: str = "", **details) -> None:
    record_event(actor, f"lookup.{kind}", object_type="lookup_request", object_id=lookup.id, reason=reason,
                 details={"system": lookup.system.code, "requester": lookup.requester.employee_no,
                          "purpose": lookup.purpose, "status": lookup.status, **details})


def _text_problems(errors: list[Refusal], field: str, value: str, missing: str, limit: int) -> None:
    if not (value or "").strip():
        _add(errors, field, missing)
    elif len(value) > limit:
        _add(errors, field, "too_long")
    else:
        _add(errors, field, rules.personal_data_problem(value))


def request_lookup(actor: Person, system: ProtectedSystem, data: LookupData,
                   now: datetime | None = None) -> LookupRequest:
    """A person without access asks for a look-up with a purpose; it waits for their manager."""
    now = now or utcnow()
    errors: list[Refusal] = []
    if data.purpose not in system.purposes:
        _add(errors, "purpose", "purpose_unknown")
    _add(errors, "explanation", rules.explanation_problem(data.explanation))
    if not any(error.field == "explanation" for error in errors):
        _add(errors, "explanation", rules.personal_data_problem(data.explanation))
    _text_problems(errors, "question", data.question, "question_missing", rules.QUESTION_MAX)
    _add(errors, "reference", rules.reference_problem(data.reference))
    if errors:
        raise Refusal.collected(errors)
    if not approver_ids_for(actor):
        raise Refusal("no_approver")
    if grant_in_force(actor.id, system.id, now):
        raise Refusal("has_access")
    lookup = LookupRequest(
        system_id=system.id, requester_id=actor.id, department_id=actor.department_id, purpose=data.purpose,
        explanation=data.explanation.strip(), question=data.question.strip(),
        reference=rules.normalised_reference(data.reference), status="awaiting_approval", requested_at=now,
        expires_at=now + timedelta(days=system.request_expiry_days), decision_reason="", checked="", answer="")
    db.session.add(lookup)
    db.session.flush()
    _step(lookup, "requested", actor, now, lookup.explanation)
    _audit(actor, lookup, "requested", lookup.explanation, department=actor.department.code)
    notify.approval_needed(lookup)
    return lookup


#: StepLost subject of a look-up request.
SUBJECT = "lookup_request"


def lookup_witness(lookup: LookupRequest):
    """Who moved a request to its present status, and when (for the loser of a race)."""
    if lookup.status in ("awaiting_handler", "refused"):
        return lookup.approver, lookup.decided_at
    if lookup.status == "in_progress":
        return lookup.handler, lookup.taken_at
    if lookup.status == "answered":
        return lookup.handler, lookup.answered_at
    if lookup.status == "withdrawn":
        return lookup.requester, lookup.closed_at
    if lookup.status == "expired":
        return None, lookup.expires_at
    return None, None


def _expire(lookup: LookupRequest, now: datetime) -> None:
    moved = try_move(LookupRequest, lookup.id, "status", rules.WAITING, {"status": "expired", "closed_at": now})
    db.session.refresh(lookup)
    if moved:
        _step(lookup, "expired", None, min(as_utc(lookup.expires_at), now))
        _audit(None, lookup, "expired", expired_at=as_utc(lookup.expires_at).isoformat())


def _move(lookup: LookupRequest, action: str, now: datetime, *conditions, **values) -> None:
    """Apply `action` if the request is still where the caller saw it; refuse with why not otherwise."""
    db.session.refresh(lookup)
    current = rules.effective_status(lookup.status, as_utc(lookup.expires_at), now)
    if current == "expired" and lookup.status in rules.WAITING:
        _expire(lookup, now)
        raise Refusal("request_expired")
    after = rules.next_status(current, action)
    if after is None:
        if rules.moved_past(current, action):  # someone acted first: say who and when
            by, at = lookup_witness(lookup)
            raise StepLost(SUBJECT, Meanwhile(current, by, at))
        raise Refusal("wrong_state", status=current)  # not there yet
    move_step(lookup, "status", lookup.status, {"status": after, **values}, *conditions, subject=SUBJECT,
              witness=lookup_witness)


def decide_lookup_approval(actor: Person, lookup: LookupRequest, approve: bool, reason: str,
                           now: datetime | None = None) -> None:
    """The requester's manager approves or refuses, with a reason."""
    now = now or utcnow()
    if actor.id == lookup.requester_id:
        raise Refusal("own_request")
    if not is_approver_for(actor, lookup):
        raise Refusal("not_the_manager")
    if rules.reason_problem(reason):
        raise Refusal("reason_too_short", "reason")
    action = "approve" if approve else "refuse"
    extra = {"closed_at": now} if not approve else {}
    _move(lookup, action, now, approver_id=actor.id, decided_at=now, decision_reason=reason.strip(), **extra)
    kind = rules.EVENT_FOR_ACTION[action]
    _step(lookup, kind, actor, now, reason.strip())
    _audit(actor, lookup, kind, reason.strip())
    if approve:
        notify.handler_needed(lookup)
    else:
        notify.requester_told(lookup)


def take_lookup(actor: Person, lookup: LookupRequest, now: datetime | None = None) -> None:
    """A person whose grant for the system is in force takes the request (one taker only)."""
    now = now or utcnow()
    conflict = rules.handling_conflict(actor.id, lookup.requester_id, lookup.approver_id)
    if conflict:
        raise Refusal(conflict)
    if not grant_in_force(actor.id, lookup.system_id, now):
        raise Refusal("no_grant_in_force")
    _move(lookup, "take", now, LookupRequest.handler_id.is_(None), LookupRequest.expires_at > now,
          handler_id=actor.id, taken_at=now)
    _step(lookup, "taken", actor, now)
    _audit(actor, lookup, "taken")


def answer_lookup(actor: Person, lookup: LookupRequest, checked: str, answer: str,
                  now: datetime | None = None) -> None:
    """The handler records what was checked and the answer given, and closes the request."""
    now = now or utcnow()
    if lookup.handler_id != actor.id:
        raise Refusal("not_the_handler")
    errors: list[Refusal] = []
    _text_problems(errors, "checked", checked, "checked_missing", rules.ANSWER_MAX)
    _text_problems(errors, "answer", answer, "answer_missing", rules.ANSWER_MAX)
    if errors:
        raise Refusal.collected(errors)
    if not grant_in_force(actor.id, lookup.system_id, now):
        raise Refusal("no_grant_in_force")
    _move(lookup, "answer", now, LookupRequest.handler_id == actor.id, checked=checked.strip(),
          answer=answer.strip(), answered_at=now, closed_at=now)
    _step(lookup, "answered", actor, now, f"{lookup.checked}\n---\n{lookup.answer}")
    _audit(actor, lookup, "answered", lookup.answer, checked=lookup.checked)
    notify.requester_told(lookup)


def withdraw_lookup(actor: Person, lookup: LookupRequest, reason: str = "", now: datetime | None = None) -> None:
    """The requester withdraws a request nobody has taken yet."""
    now = now or utcnow()
    if actor.id != lookup.requester_id:
        raise Refusal("not_the_requester")
    _move(lookup, "withdraw", now, closed_at=now)
    _step(lookup, "withdrawn", actor, now, (reason or "").strip())
    _audit(actor, lookup, "withdrawn", (reason or "").strip())


def expire_lookups(now: datetime | None = None) -> int:
    """Every waiting request past its expiry becomes expired; returns how many."""
    now = now or utcnow()
    due = db.session.scalars(select(LookupRequest).where(
        LookupRequest.status.in_(rules.WAITING), LookupRequest.expires_at <= now).order_by(LookupRequest.id)).all()
    for lookup in due:
        _expire(lookup, now)
    return len(due)


def record_statistics_export(actor: Person, criteria: dict, rows: int) -> None:
    """Exports of the statistics are audited."""
    record_event(actor, "lookup.statistics_exported", object_type="lookup_statistics", object_id="csv",
                 details={"filter": criteria, "rows": rows})
