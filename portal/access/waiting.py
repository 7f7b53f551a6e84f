"""Requests waiting for the requester's training (受講完了待ち) go back to the grant owners once it is current.

A grant owner who would grant while the requester's training is not current puts the request on
hold instead of refusing it (services.decide_grant). Whenever something that can make training
current happens (an attestation, a publication, an HR change: every caller of
refresh_access_decisions), the waiting requests of those people are looked at again; each one
whose training now counts moves back to awaiting_grant, once, and the grant owners are told. A
request still waiting at its deadline expires like any other (services.expire_requests).
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from portal.access import notify
from portal.access.models import AccessEvent, AccessRequest
from portal.access.queries import training_overview
from portal.audit.services import record_event
from portal.core.timeutil import utcnow
from portal.core.workflow import try_move
from portal.extensions import db


def release_requests_awaiting_training(person_ids=None, *, system_ids=None, now: datetime | None = None) -> int:
    """Move waiting requests whose training is now current back to the grant owners; returns how many."""
    now = now or utcnow()
    query = select(AccessRequest).where(AccessRequest.status == "awaiting_training", AccessRequest.expires_at > now)
    if person_ids is not None:
        query = query.where(AccessRequest.person_id.in_(list(person_ids)))
    if system_ids is not None:
        query = query.where(AccessRequest.system_id.in_(list(system_ids)))
    released = 0
    for request in db.session.scalars(query.order_by(AccessRequest.id)).all():
        if not request.person.active or not all(row.counts for row in training_overview(request.person,
                                                                                        request.system, now)):
            continue
        if not try_move(AccessRequest, request.id, "status", "awaiting_training", {"status": "awaiting_grant"}):
            continue  # decided or released by someone else meanwhile
        db.session.refresh(request)
        db.session.add(AccessEvent(request_id=request.id, kind="training_completed", occurred_at=now, recorded_at=now,
                                   details_json=json.dumps({})))
        record_event(None, "access.request_training_completed", object_type="access_request", object_id=request.id,
                     details={"system": request.system.code, "person": request.person.employee_no})
        notify.request_waiting_grant(request)
        released += 1
    return released
