"""A grant owner brings a waiting grant into force above the cap, with a reason (audited).

Above the refresh and the services it calls; the cap itself (portal/access/cap.py) stays below them.
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import update

from portal.access.cap import entry_under_lock
from portal.access.models import AccessEvent, AccessGrant
from portal.access.refresh import refresh_access_decisions
from portal.access.rules import conflict_of_interest
from portal.approvals.rules import reason_problem
from portal.audit.services import record_event
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Person


def admit_over_cap(actor: Person, grant: AccessGrant, reason: str, now: datetime | None = None) -> None:
    """A grant owner brings a waiting grant into force above the cap, with a reason (audited)."""
    now = now or utcnow()
    if actor.id not in {owner.id for owner in grant.system.grant_owners}:
        raise Refusal("not_grant_owner")
    conflict = conflict_of_interest(actor.id, grant.person_id, grant.request.approver_id)
    if conflict:
        raise Refusal(conflict)
    if reason_problem(reason):
        raise Refusal("reason_too_short", "reason")
    entry = entry_under_lock(grant.system_id, grant.department_id, person_id=grant.person_id, exclude_grant=grant.id,
                             ahead_of=None, override=True)
    result = db.session.execute(update(AccessGrant).where(
        AccessGrant.id == grant.id, AccessGrant.state == "waiting_for_room").values(
        state="in_force", cap_overridden=True, waiting_since=None))
    if result.rowcount != 1:
        raise Refusal("grant_not_waiting")
    db.session.add(AccessEvent(request_id=grant.request_id, grant_id=grant.id, kind="resumed", state_after="in_force",
                               occurred_at=now, recorded_at=now, actor_id=actor.id, reason=reason.strip(),
                               details_json=json.dumps({"from": "waiting_for_room", "cap_overridden": True,
                                                        **entry.figures}, ensure_ascii=False)))
    record_event(actor, "access.cap_overridden", object_type="access_grant", object_id=grant.id,
                 reason=reason.strip(), details={"system": grant.system.code, "person": grant.person.employee_no,
                                                 "department": grant.person.department.code, "waited": True,
                                                 **entry.figures})
    db.session.expire(grant)
    refresh_access_decisions([grant.person_id], system_ids=[grant.system_id], now=now)
