"""Noting transfers: a live grant whose holder left its department is suspended until the new
department's manager confirms it (portal/access/transfers.py decides; the refresh notes).
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select, update

from portal.access.cap_rules import LIVE_STATES
from portal.access.control_models import TransferConfirmation
from portal.access.models import AccessEvent, AccessGrant
from portal.approvals.notices import portal_link, queue_notices
from portal.approvals.queries import approver_ids_for, people_with_ids
from portal.audit.services import record_event
from portal.extensions import db
from portal.org.models import Department, Person


def pending_transfer_grant_ids(grant_ids) -> set[int]:
    """Grants among these whose move waits for the new manager's approval."""
    ids = list(grant_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(TransferConfirmation.grant_id).where(
        TransferConfirmation.grant_id.in_(ids), TransferConfirmation.outcome == "pending")))


def note_transfers(person_ids, system_ids, now: datetime) -> list[tuple[int, int]]:
    """Suspend live grants whose holder is no longer in the grant's department; returns the places freed."""
    query = (select(AccessGrant.id, AccessGrant.request_id, AccessGrant.system_id, AccessGrant.person_id,
                    AccessGrant.state, AccessGrant.department_id, Person.department_id.label("now_in"))
             .join(Person, Person.id == AccessGrant.person_id)
             .where(AccessGrant.state.in_(LIVE_STATES), AccessGrant.department_id != Person.department_id))
    if person_ids is not None:
        query = query.where(AccessGrant.person_id.in_(list(person_ids)))
    if system_ids is not None:
        query = query.where(AccessGrant.system_id.in_(list(system_ids)))
    freed = []
    for row in db.session.execute(query).all():
        if _move(row, now):
            freed.append((row.system_id, row.department_id))
    return freed


def _move(row, now: datetime) -> bool:
    result = db.session.execute(update(AccessGrant).where(
        AccessGrant.id == row.id, AccessGrant.state == row.state, AccessGrant.department_id == row.department_id)
        .values(department_id=row.now_in, state="suspended", suspension_json=json.dumps(["transfer_unconfirmed"]),
                waiting_since=None))
    if result.rowcount != 1:
        return False  # another transaction moved it first
    db.session.execute(update(TransferConfirmation).where(
        TransferConfirmation.grant_id == row.id, TransferConfirmation.outcome == "pending")
        .values(outcome="superseded", decided_at=now))
    confirmation = TransferConfirmation(grant_id=row.id, person_id=row.person_id, from_department_id=row.department_id,
                                        to_department_id=row.now_in, moved_at=now, outcome="pending", reason="")
    db.session.add(confirmation)
    codes = {d.id: d.code for d in db.session.scalars(select(Department).where(
        Department.id.in_([row.department_id, row.now_in])))}
    details = {"from": row.state, "reasons": ["transfer_unconfirmed"], "from_department": codes.get(row.department_id),
               "to_department": codes.get(row.now_in)}
    db.session.add(AccessEvent(request_id=row.request_id, grant_id=row.id, kind="transferred", state_after="suspended",
                               occurred_at=now, recorded_at=now, details_json=json.dumps(details)))
    record_event(None, "access.grant_transferred", object_type="access_grant", object_id=row.id, details=details)
    db.session.flush()
    notify_transfer(confirmation)
    return True


def notify_transfer(confirmation: TransferConfirmation) -> None:
    """The new department's managers have a grant to approve again or refuse."""
    person = db.session.get(Person, confirmation.person_id)
    queue_notices(people_with_ids(approver_ids_for(person)), "access/mail/transfer_needed", confirmation=confirmation,
                  link=portal_link(f"/access/transfers/{confirmation.id}"))
