"""Transfers: a holder who moves to another department keeps no grant in force until its manager approves it.

A grant counts in one department (access_grants.department_id). When its holder's department is
no longer that one (an HR import moved them, or any other change), the next refresh suspends the
grant (transfer_unconfirmed), counts it in the new department and asks that department's manager.
Approved, the grant comes back in force through the cap of its new department (it may wait for
room); refused, it is revoked.
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select, update

from portal.access.cap_rules import LIVE_STATES
from portal.access.control_models import TransferConfirmation
from portal.access.models import AccessEvent, AccessGrant
from portal.access.queries import _approves_for
from portal.access.refresh import refresh_access_decisions
from portal.access.services import revoke_grant
from portal.approvals.queries import approver_ids_for
from portal.approvals.rules import reason_problem
from portal.audit.services import record_event
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Department, Person


def transfers_waiting_for(manager: Person) -> list[TransferConfirmation]:
    """Pending confirmations of live grants of people this manager approves for, oldest first."""
    managed = [d.id for d in manager.managed_departments]
    if not managed or not manager.has_role("manager"):
        return []
    children = select(Department.id).where(Department.parent_id.in_(managed))
    rows = db.session.scalars(
        select(TransferConfirmation).join(AccessGrant, AccessGrant.id == TransferConfirmation.grant_id)
        .join(Person, Person.id == TransferConfirmation.person_id)
        .where(TransferConfirmation.outcome == "pending", AccessGrant.state.in_(LIVE_STATES),
               Person.id != manager.id, Person.department_id.in_(managed) | Person.department_id.in_(children))
        .order_by(TransferConfirmation.moved_at, TransferConfirmation.id)).all()
    return [row for row in rows if _approves_for(manager, managed, row.person)]


def decide_transfer(actor: Person, confirmation: TransferConfirmation, approve: bool, reason: str,
                    now: datetime | None = None) -> None:
    """The new department's manager approves the grant again (it may come back in force) or refuses (revoked)."""
    now = now or utcnow()
    if actor.id == confirmation.person_id:
        raise Refusal("own_request")
    if actor.id not in approver_ids_for(confirmation.person):
        raise Refusal("not_the_manager")
    if reason_problem(reason):
        raise Refusal("reason_too_short", "reason")
    result = db.session.execute(update(TransferConfirmation).where(
        TransferConfirmation.id == confirmation.id, TransferConfirmation.outcome == "pending").values(
        outcome="approved" if approve else "refused", decided_by_id=actor.id, decided_at=now, reason=reason.strip()))
    if result.rowcount != 1:
        raise Refusal("transfer_decided")
    db.session.expire(confirmation)
    grant = confirmation.grant
    if not approve:
        revoke_grant(actor, grant, reason, now=now)
        return
    db.session.add(AccessEvent(request_id=grant.request_id, grant_id=grant.id, kind="transfer_approved",
                               occurred_at=now, recorded_at=now, actor_id=actor.id, reason=reason.strip(),
                               details_json=json.dumps({"department": confirmation.to_department.code})))
    record_event(actor, "access.transfer_approved", object_type="access_grant", object_id=grant.id,
                 reason=reason.strip(), details={"system": grant.system.code, "person": grant.person.employee_no,
                                                 "department": confirmation.to_department.code})
    refresh_access_decisions([grant.person_id], system_ids=[grant.system_id], now=now)
