"""The standing cap: checked under a lock at every moment a grant can come into force.

A grant comes into force when it is granted, and again when it resumes (training current again,
a late review kept it, its holder came back, or their new department's manager confirmed it after
a move). Each of these asks `admit` under a lock that serialises one (system, department):
PostgreSQL takes the audit chain's lock and then an advisory lock for the pair (always in that
order, so two transactions can never wait on each other); SQLite takes its one writer lock with
BEGIN IMMEDIATE before anything is counted. Without room, or behind older waiting grants, the grant
waits (waiting_for_room, 空き待ち); when a place frees (revocation, expiry, a leaver, a move, a
larger headcount or cap) the oldest waiting grant comes into force (`settle_departments`, called
after every refresh). A grant owner may bring a waiting grant into force above the cap, with a
reason, audited.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select, text, update

from portal.access.cap_rules import ADMITTED, OVERRIDDEN, CapSpec, admission, room
from portal.access.models import AccessEvent, AccessGrant, DepartmentCap
from portal.access.rules import conflict_of_interest
from portal.approvals.rules import reason_problem
from portal.audit.services import lock_chain, record_event
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Person

#: High bits of the PostgreSQL advisory key of a (system, department) pair.
_PG_CAP_LOCK = 0x5CA9 << 48
_FILLING = "access_cap_filling"


def begin_immediate() -> None:
    """Hold SQLite's writer lock from now until the transaction ends (BEGIN IMMEDIATE).

    pysqlite opens a transaction only before the first write, so reads before it see the latest
    commits but hold nothing: a count followed by an insert could interleave with another writer.
    When no write happened yet, BEGIN IMMEDIATE starts the transaction with the lock; after a write
    the lock is already held (an UPDATE that matches nothing makes sure of it).
    """
    connection = db.session.connection()
    raw = connection.connection.dbapi_connection
    if raw.in_transaction:
        connection.exec_driver_sql("UPDATE system_department_caps SET system_id = system_id WHERE 0")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_department(system_id: int, department_id: int | None) -> None:
    """Serialise every grant that can come into force in (system, department) until the transaction ends."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        lock_chain()  # first, as every other writer of the chain does: no lock-order deadlock
        key = _PG_CAP_LOCK | ((system_id & 0xFFFFFF) << 24) | ((department_id or 0) & 0xFFFFFF)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    elif dialect == "sqlite":
        begin_immediate()


def cap_specs(system_ids, department_ids=None) -> dict[tuple[int, int], CapSpec]:
    """{(system, department): cap} of the given systems (and departments)."""
    query = select(DepartmentCap.system_id, DepartmentCap.department_id, DepartmentCap.cap_percent,
                   DepartmentCap.cap_people).where(DepartmentCap.system_id.in_(list(system_ids)))
    if department_ids is not None:
        query = query.where(DepartmentCap.department_id.in_(list(department_ids)))
    return {(r.system_id, r.department_id): CapSpec(r.cap_percent, r.cap_people) for r in db.session.execute(query)}


def headcounts(department_ids) -> dict[int, int]:
    """{department: active people} now."""
    ids = list(department_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Person.department_id, func.count(Person.id)).where(
        Person.department_id.in_(ids), Person.active.is_(True)).group_by(Person.department_id)).all())


@dataclass
class Holders:
    """Grants of one system in one department now: people in force, of them by override, and waiting."""

    in_force: int = 0
    overridden: int = 0
    waiting: int = 0


def holders(system_ids, department_ids=None) -> dict[tuple[int, int], Holders]:
    """{(system, department): Holders} counted by the department each grant counts in (one query)."""
    query = (select(AccessGrant.system_id, AccessGrant.department_id, AccessGrant.state, AccessGrant.cap_overridden,
                    func.count(func.distinct(AccessGrant.person_id)))
             .where(AccessGrant.system_id.in_(list(system_ids)),
                    AccessGrant.state.in_(("in_force", "waiting_for_room")))
             .group_by(AccessGrant.system_id, AccessGrant.department_id, AccessGrant.state, AccessGrant.cap_overridden))
    if department_ids is not None:
        query = query.where(AccessGrant.department_id.in_(list(department_ids)))
    found: dict[tuple[int, int], Holders] = defaultdict(Holders)
    for system_id, department_id, state, overridden, count in db.session.execute(query):
        row = found[(system_id, department_id)]
        if state == "in_force":
            row.in_force += count
            row.overridden += count if overridden else 0
        else:
            row.waiting += count
    return found


@dataclass
class Entry:
    """What the cap decided for one grant coming into force, with the figures it decided on."""

    state: str
    overridden: bool = False
    figures: dict = field(default_factory=dict)
    #: For a grant that waits: its place in the queue, when it inherits one (None: from now).
    waiting_since: datetime | None = None


def _decide(system_id: int, department_id: int, *, person_id: int, exclude_grant: int | None,
            ahead_of: tuple[datetime, int] | None, override: bool) -> Entry:
    """Under the lock: count and decide (others in force, grants waiting ahead of this one)."""
    lock_department(system_id, department_id)
    spec = cap_specs([system_id], [department_id]).get((system_id, department_id))
    if spec is None:
        return Entry("in_force", figures={"cap": None})
    headcount = headcounts([department_id]).get(department_id, 0)
    limit = spec.limit(headcount)
    in_force = db.session.scalar(select(func.count(func.distinct(AccessGrant.person_id))).where(
        AccessGrant.system_id == system_id, AccessGrant.department_id == department_id,
        AccessGrant.state == "in_force", AccessGrant.person_id != person_id)) or 0
    waiting = select(func.count(AccessGrant.id)).where(
        AccessGrant.system_id == system_id, AccessGrant.department_id == department_id,
        AccessGrant.state == "waiting_for_room")
    if exclude_grant is not None:
        waiting = waiting.where(AccessGrant.id != exclude_grant)
    if ahead_of is not None:
        since, grant_id = ahead_of
        waiting = waiting.where(or_(AccessGrant.waiting_since < since,
                                    and_(AccessGrant.waiting_since == since, AccessGrant.id < grant_id)))
    older = db.session.scalar(waiting) or 0
    outcome = admission(limit, in_force, older, override)
    figures = {"cap": spec.text(), "cap_percent": spec.percent, "cap_people": spec.people, "headcount": headcount,
               "in_force": in_force, "limit": limit, "waiting_ahead": older}
    state = "waiting_for_room" if outcome not in (ADMITTED, OVERRIDDEN) else "in_force"
    return Entry(state, outcome == OVERRIDDEN, figures)


def admit_new_grant(system_id: int, person: Person, live: AccessGrant | None, override: bool) -> Entry:
    """The cap's answer for a grant being made: in force, waiting, or in force by override."""
    if live is not None and live.state == "in_force" and live.department_id == person.department_id:
        # A renewal takes its holder's own place: nobody more holds a grant in force.
        lock_department(system_id, person.department_id)
        return Entry("in_force", figures={"renewal": True})
    ahead_of = None
    if live is not None and live.state == "waiting_for_room" and live.waiting_since is not None:
        ahead_of = (live.waiting_since, live.id)  # a renewal keeps its place in the queue
    entry = _decide(system_id, person.department_id, person_id=person.id,
                    exclude_grant=live.id if live is not None else None, ahead_of=ahead_of, override=override)
    if entry.state == "waiting_for_room" and ahead_of is not None:
        entry.waiting_since = ahead_of[0]
    return entry


def state_on_entry(grant_id: int, now: datetime) -> str:
    """in_force, or waiting_for_room: for a suspended or waiting grant whose rules all hold again."""
    grant = db.session.execute(select(AccessGrant.system_id, AccessGrant.person_id, AccessGrant.department_id,
                                      AccessGrant.state, AccessGrant.waiting_since)
                               .where(AccessGrant.id == grant_id)).one()
    ahead_of = (grant.waiting_since, grant_id) if grant.state == "waiting_for_room" and grant.waiting_since else None
    entry = _decide(grant.system_id, grant.department_id, person_id=grant.person_id, exclude_grant=grant_id,
                    ahead_of=ahead_of, override=False)
    return entry.state


def state_values(old_state: str, new_state: str, now: datetime) -> dict:
    """Columns that go with a state change: since when a grant waits (kept while it waits), no override any more."""
    if new_state == "waiting_for_room":
        return {} if old_state == "waiting_for_room" else {"waiting_since": now}
    if new_state == "in_force":  # admitted within the cap: an earlier override no longer explains it
        return {"waiting_since": None, "cap_overridden": False}
    return {"waiting_since": None}


def settle_departments(system_ids, *, check_excess: bool, now: datetime) -> None:
    """After a refresh: bring the oldest waiting grants into force where places are free; report excesses."""
    from portal.access.cap_excess import check_excesses

    system_ids = sorted(set(system_ids))
    if not system_ids or db.session.info.get(_FILLING):
        return
    db.session.info[_FILLING] = True
    try:
        _fill_vacancies(system_ids, now)
        if check_excess:
            check_excesses(system_ids, now)
    finally:
        db.session.info.pop(_FILLING, None)


def _fill_vacancies(system_ids: list[int], now: datetime) -> None:
    from portal.access.refresh import refresh_access_decisions

    queues = db.session.execute(select(AccessGrant.system_id, AccessGrant.department_id).distinct().where(
        AccessGrant.system_id.in_(system_ids), AccessGrant.state == "waiting_for_room")).all()
    if not queues:
        return
    specs = cap_specs(system_ids, {d for _, d in queues})
    counts = headcounts({d for _, d in queues})
    held = holders(system_ids, {d for _, d in queues})
    for system_id, department_id in queues:
        spec = specs.get((system_id, department_id))
        limit = None if spec is None else spec.limit(counts.get(department_id, 0))
        free = room(limit, held[(system_id, department_id)].in_force)
        if free == 0:
            continue
        lock_department(system_id, department_id)
        waiting = db.session.execute(select(AccessGrant.id, AccessGrant.person_id).where(
            AccessGrant.system_id == system_id, AccessGrant.department_id == department_id,
            AccessGrant.state == "waiting_for_room").order_by(AccessGrant.waiting_since, AccessGrant.id)).all()
        for grant_id, person_id in waiting:
            # Through the refresh: the grant's rules are checked first, then the cap, oldest first.
            refresh_access_decisions([person_id], system_ids=[system_id], now=now)
            state = db.session.scalar(select(AccessGrant.state).where(AccessGrant.id == grant_id))
            if state == "waiting_for_room":
                break  # no room left (or older grants still wait)


def waiting_ahead(grant: AccessGrant) -> int:
    """How many grants of the same department wait ahead of this one."""
    return db.session.scalar(select(func.count(AccessGrant.id)).where(
        AccessGrant.system_id == grant.system_id, AccessGrant.department_id == grant.department_id,
        AccessGrant.state == "waiting_for_room", AccessGrant.id != grant.id,
        or_(AccessGrant.waiting_since < grant.waiting_since,
            and_(AccessGrant.waiting_since == grant.waiting_since, AccessGrant.id < grant.id)))) or 0


def waiting_queue(system_id: int) -> list[AccessGrant]:
    """Grants of the system waiting for room, oldest first (per department, in queue order)."""
    return list(db.session.scalars(select(AccessGrant).where(
        AccessGrant.system_id == system_id, AccessGrant.state == "waiting_for_room")
        .order_by(AccessGrant.waiting_since, AccessGrant.id)))


def admit_over_cap(actor: Person, grant: AccessGrant, reason: str, now: datetime | None = None) -> None:
    """A grant owner brings a waiting grant into force above the cap, with a reason (audited)."""
    from portal.access.refresh import refresh_access_decisions

    now = now or utcnow()
    if actor.id not in {owner.id for owner in grant.system.grant_owners}:
        raise Refusal("not_grant_owner")
    conflict = conflict_of_interest(actor.id, grant.person_id, grant.request.approver_id)
    if conflict:
        raise Refusal(conflict)
    if reason_problem(reason):
        raise Refusal("reason_too_short", "reason")
    entry = _decide(grant.system_id, grant.department_id, person_id=grant.person_id, exclude_grant=grant.id,
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
