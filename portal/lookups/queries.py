"""Reads for the look-up pages: who may see and handle what, lists, history and statistics.

Set-based: each list is one query (plus the few-row checks of the viewer's own grants).
"""
from __future__ import annotations

from datetime import date, datetime

from flask import abort
from sqlalchemy import case, func, select

from portal.access.decision import decide_access
from portal.access.facts import gather_facts
from portal.access.models import AccessGrant, ProtectedSystem
from portal.approvals.queries import approver_ids_for
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.lookups import rules
from portal.lookups.models import LookupEvent, LookupRequest
from portal.org.models import Department, Person
from portal.training.status import jst_today

#: Roles that read every look-up request (auditors change nothing).
READ_ALL_ROLES = ("auditor", "admin")
LIST_LIMIT = 200


def grant_in_force(person_id: int, system_id: int, now: datetime | None = None) -> bool:
    """True when the person's grant for the system is in force right now, computed from fresh facts
    (the same rule as the decision API: approved, not expired or revoked, review not missed, person
    active, required training current)."""
    now = now or utcnow()
    facts, _grants = gather_facts([(system_id, person_id)], jst_today(now))
    return decide_access(facts[(system_id, person_id)], now).allow


def systems_in_force_for(person: Person, now: datetime | None = None) -> list[int]:
    """Ids of the systems the person may use right now (a grant in force)."""
    now = now or utcnow()
    candidates = sorted(set(db.session.scalars(select(AccessGrant.system_id).where(
        AccessGrant.person_id == person.id, AccessGrant.state.in_(("in_force", "suspended"))))))
    if not candidates:
        return []
    facts, _grants = gather_facts([(s, person.id) for s in candidates], jst_today(now))
    return [s for s in candidates if decide_access(facts[(s, person.id)], now).allow]


def _managed_ids(viewer: Person) -> set[int]:
    return {d.id for d in viewer.managed_departments} if viewer.has_role("manager") else set()


def is_approver_for(viewer: Person, lookup: LookupRequest) -> bool:
    """The viewer may decide the approval: a manager of the requester's department (or, when it has no
    other manager, of the nearest parent), never the requester."""
    return (viewer.has_role("manager") and viewer.id != lookup.requester_id
            and viewer.id in approver_ids_for(lookup.requester))


def may_view(viewer: Person, lookup: LookupRequest, now: datetime | None = None) -> bool:
    """Those involved, their managers and auditors see a request; nobody else.

    Requester; the approver; managers of the requester's department (then or now); the handler who
    took it; while it waits for a handler, people whose grant for its system is in force (the queue);
    auditors and admins."""
    if viewer.id in (lookup.requester_id, lookup.approver_id, lookup.handler_id):
        return True
    if viewer.has_role(*READ_ALL_ROLES):
        return True
    managed = _managed_ids(viewer)
    if managed and (lookup.department_id in managed or lookup.requester.department_id in managed
                    or is_approver_for(viewer, lookup)):
        return True
    if lookup.status == "awaiting_handler" and lookup.handler_id is None:
        return grant_in_force(viewer.id, lookup.system_id, now)
    return False


def taken_by_another_handler(viewer: Person, lookup: LookupRequest, now: datetime | None = None) -> bool:
    """True when someone else took a request this viewer could have taken (they saw it in the queue).

    Such a viewer no longer sees the request itself; they are told it was taken, and nothing more.
    """
    return (lookup.handler_id is not None and lookup.handler_id != viewer.id
            and grant_in_force(viewer.id, lookup.system_id, now))


def load_visible(viewer: Person, lookup_id: int) -> LookupRequest:
    """The request, or 404 when it does not exist or the viewer may not see it (the same answer)."""
    lookup = db.session.get(LookupRequest, lookup_id)
    if lookup is None or not may_view(viewer, lookup):
        abort(404)
    return lookup


def my_lookups(person: Person) -> list[LookupRequest]:
    """The person's own requests, newest first."""
    return list(db.session.scalars(select(LookupRequest).where(LookupRequest.requester_id == person.id)
                                   .order_by(LookupRequest.id.desc()).limit(LIST_LIMIT)))


def awaiting_approval_by(manager: Person, now: datetime) -> list[LookupRequest]:
    """Waiting, unexpired requests this manager may approve (their departments; a child department
    only when it has no other manager)."""
    managed = _managed_ids(manager)
    if not managed:
        return []
    children = select(Department.id).where(Department.parent_id.in_(managed))
    candidates = db.session.scalars(
        select(LookupRequest).join(Person, Person.id == LookupRequest.requester_id)
        .where(LookupRequest.status == "awaiting_approval", LookupRequest.expires_at > now,
               LookupRequest.requester_id != manager.id,
               Person.department_id.in_(managed) | Person.department_id.in_(children))
        .order_by(LookupRequest.requested_at)).all()
    return [r for r in candidates
            if r.requester.department_id in managed or manager.id in approver_ids_for(r.requester)]


def decided_by(manager: Person) -> list[LookupRequest]:
    """Requests this manager approved or refused, newest first (their own record of decisions)."""
    return list(db.session.scalars(select(LookupRequest).where(LookupRequest.approver_id == manager.id)
                                   .order_by(LookupRequest.decided_at.desc()).limit(50)))


def handler_queue(person: Person, now: datetime) -> tuple[list[LookupRequest], list[LookupRequest]]:
    """(approved requests the person may take, requests the person has taken), for systems whose
    grant is in force for them now. Their own requests and those they approved are left out."""
    systems = systems_in_force_for(person, now)
    open_items: list[LookupRequest] = []
    if systems:
        open_items = list(db.session.scalars(
            select(LookupRequest).where(
                LookupRequest.system_id.in_(systems), LookupRequest.status == "awaiting_handler",
                LookupRequest.handler_id.is_(None), LookupRequest.expires_at > now,
                LookupRequest.requester_id != person.id,
                (LookupRequest.approver_id.is_(None)) | (LookupRequest.approver_id != person.id))
            .order_by(LookupRequest.decided_at).limit(LIST_LIMIT)))
    taken = list(db.session.scalars(
        select(LookupRequest).where(LookupRequest.handler_id == person.id)
        .order_by(case((LookupRequest.status == "in_progress", 0), else_=1), LookupRequest.taken_at.desc())
        .limit(LIST_LIMIT)))
    return open_items, taken


def history(lookup_id: int) -> list[LookupEvent]:
    """Every step of a request, in order."""
    return list(db.session.scalars(select(LookupEvent).where(LookupEvent.request_id == lookup_id)
                                   .order_by(LookupEvent.occurred_at, LookupEvent.id)))


def systems() -> list[ProtectedSystem]:
    """Every protected system, by code (a look-up may concern any of them)."""
    return list(db.session.scalars(select(ProtectedSystem).order_by(ProtectedSystem.code)))


# --- statistics ----------------------------------------------------------------------------------

def statistics_scope(viewer: Person) -> set[int] | None:
    """Departments whose look-ups the viewer may count: None = all (auditors, admins), else the
    departments a manager manages."""
    if viewer.has_role(*READ_ALL_ROLES):
        return None
    return _managed_ids(viewer)


def statistics_rows(first: date, last: date, scope: set[int] | None, system_id: int | None = None) -> list:
    """One grouped query: (department code, name_ja, name_en, purpose, requested, answered, refused,
    withdrawn or expired, still open) for look-ups requested on the Japan-time days first..last."""
    start, end = rules.jst_day_range(first, last)

    def counted(*statuses):
        return func.sum(case((LookupRequest.status.in_(statuses), 1), else_=0))

    query = (select(Department.code, Department.name_ja, Department.name_en, LookupRequest.purpose,
                    func.count(LookupRequest.id).label("requested"),
                    counted("answered").label("answered"), counted("refused").label("refused"),
                    counted("withdrawn", "expired").label("ended"),
                    counted("awaiting_approval", "awaiting_handler", "in_progress").label("open"))
             .join(Department, Department.id == LookupRequest.department_id)
             .where(LookupRequest.requested_at >= start, LookupRequest.requested_at < end)
             .group_by(Department.code, Department.name_ja, Department.name_en, LookupRequest.purpose)
             .order_by(Department.code, LookupRequest.purpose))
    if scope is not None:
        query = query.where(LookupRequest.department_id.in_(scope or {-1}))
    if system_id is not None:
        query = query.where(LookupRequest.system_id == system_id)
    return list(db.session.execute(query))


def register_departments(viewer: Person) -> list[Department]:
    """Departments the register's filter offers the viewer."""
    query = select(Department).order_by(Department.code)
    scope = statistics_scope(viewer)
    if scope is not None:
        query = query.where(Department.id.in_(scope or {-1}))
    return list(db.session.scalars(query))
