"""Keeping access_decisions (one row per system × person with a grant) and grant states true.

Every change that can affect a decision calls refresh_access_decisions in its own transaction:
grants, revocations, reviews, attestations, certificate revocations, publishing, HR sync. It also
sends requests that waited for the person's training back to the grant owners once it is current.
Each row carries recheck_at, the next moment a time rule (expiry, due date, validity, review
deadline) can change it; the API recomputes a row whose recheck_at has passed before answering, so
time never lets a stale allow through. Grant state changes found here (suspended, resumed, expired)
are recorded in the grant's history at the moment they took effect, and in the audit trail. After
each refresh, places freed go to the oldest grants waiting for room (`settle_departments`).
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, insert, select, update

from portal.access import notify
from portal.access.cap import cap_specs, headcounts, holders, lock_department, state_on_entry, state_values
from portal.access.cap_excess import check_excesses
from portal.access.cap_rules import decision_in_state, room
from portal.access.decision import (
    AccessFacts,
    Decision,
    decide_access,
    grant_state_for,
    suspension_codes,
    training_lapsed_at,
)
from portal.access.facts import GrantRow, Pair, gather_facts
from portal.access.models import AccessDecision, AccessEvent, AccessGrant, ReviewCampaign, ReviewItem
from portal.access.transfer_moves import note_transfers
from portal.access.waiting import release_requests_awaiting_training
from portal.audit.services import record_event
from portal.core.timeutil import utcnow
from portal.core.workflow import try_move
from portal.extensions import db
from portal.training.status import jst_today

BATCH = 2000
_EVENT_FOR_STATE = {"in_force": "resumed", "suspended": "suspended", "expired": "expired",
                    "waiting_for_room": "queued"}
#: Set while settle_departments runs: the refreshes it makes do not settle again (no recursion).
_FILLING = "access_cap_filling"


def _target_pairs(person_ids, system_ids) -> list[Pair]:
    query = select(AccessGrant.system_id, AccessGrant.person_id).distinct()
    if person_ids is not None:
        query = query.where(AccessGrant.person_id.in_(list(person_ids)))
    if system_ids is not None:
        query = query.where(AccessGrant.system_id.in_(list(system_ids)))
    return sorted(tuple(row) for row in db.session.execute(query))


def refresh_access_decisions(person_ids=None, *, system_ids=None, now: datetime | None = None) -> int:
    """Recompute decisions (all, or for these people / systems); flushes; returns rows changed."""
    now = now or utcnow()
    if person_ids is not None:
        person_ids = list(set(person_ids))
        if not person_ids:
            return 0
    moved = note_transfers(person_ids, system_ids, now)  # a move suspends the grant until its new manager approves
    pairs = _target_pairs(person_ids, system_ids)
    changed = 0
    for start in range(0, len(pairs), BATCH):
        changed += _refresh_batch(pairs[start:start + BATCH], now)
    release_requests_awaiting_training(person_ids, system_ids=system_ids, now=now)
    db.session.flush()
    # Places freed go to the oldest waiting grants; HR changes may leave a department over its cap.
    settle_departments({s for s, _ in pairs}, check_excess=person_ids is None or bool(moved), now=now)
    return changed


def _refresh_batch(pairs: list[Pair], now: datetime) -> int:
    facts, grants = gather_facts(pairs, jst_today(now))
    stored = {
        (r.system_id, r.person_id): r
        for r in db.session.execute(
            select(AccessDecision.system_id, AccessDecision.person_id, AccessDecision.allow,
                   AccessDecision.reasons_json, AccessDecision.grant_id, AccessDecision.recheck_at)
            .where(AccessDecision.person_id.in_({p for _, p in pairs}),
                   AccessDecision.system_id.in_({s for s, _ in pairs}))
        )
    }
    new_rows, changed = [], 0
    for pair in pairs:
        decision = decide_access(facts[pair], now)
        grant = grants.get(pair)
        if grant is not None:
            state = _apply_grant_state(grant, facts[pair], decision, now)
            decision = decision_in_state(facts[pair], decision, state, now)
        values = {"allow": decision.allow, "reasons_json": json.dumps(list(decision.reasons)),
                  "grant_id": grant.id if grant else None, "recheck_at": decision.valid_until,
                  "decided_at": now}
        old = stored.get(pair)
        if old is None:
            new_rows.append({"system_id": pair[0], "person_id": pair[1], **values})
        elif (old.allow, old.reasons_json, old.grant_id, old.recheck_at) != (
                values["allow"], values["reasons_json"], values["grant_id"], values["recheck_at"]):
            db.session.execute(update(AccessDecision).where(
                AccessDecision.system_id == pair[0], AccessDecision.person_id == pair[1]).values(**values))
        else:
            continue
        changed += 1
    if new_rows:
        db.session.execute(insert(AccessDecision), new_rows)
    return changed


def _apply_grant_state(grant: GrantRow, facts: AccessFacts, decision: Decision, now: datetime) -> str:
    """Move the grant to the state the decision implies; record the change once, when it took effect."""
    new_state = grant_state_for(grant.state, decision)
    if new_state == "in_force" and grant.state != "in_force":
        new_state = state_on_entry(grant.id, now)  # the cap, under its lock: in force, or waiting for room
    codes = json.dumps(list(suspension_codes(decision.reasons)) if new_state == "suspended" else [])
    if new_state == grant.state:
        if new_state == "suspended" and codes != grant.suspension_json:
            db.session.execute(update(AccessGrant).where(AccessGrant.id == grant.id).values(suspension_json=codes))
        return grant.state
    # Only from the state it was read in: if another transaction moved the grant first, this one records nothing.
    if not try_move(AccessGrant, grant.id, "state", grant.state,
                    {"state": new_state, "suspension_json": codes, **state_values(grant.state, new_state, now)}):
        return grant.state
    occurred_at = _effective_moment(grant, facts, new_state, now)
    kind = _EVENT_FOR_STATE[new_state]
    details = {"reasons": json.loads(codes), "from": grant.state}
    request_id = db.session.scalar(select(AccessGrant.request_id).where(AccessGrant.id == grant.id))
    db.session.add(AccessEvent(request_id=request_id, grant_id=grant.id, kind=kind, state_after=new_state,
                               occurred_at=occurred_at, recorded_at=now, details_json=json.dumps(details)))
    if "review_missed" in details["reasons"]:
        _mark_reviews_missed(grant.id, now)
    record_event(None, f"access.grant_{kind}", object_type="access_grant", object_id=grant.id,
                 details={**details, "effective_at": occurred_at.isoformat()})
    if kind in ("suspended", "resumed", "queued"):
        notify.grant_state_changed(grant.id, kind, details["reasons"])
    return new_state


def _effective_moment(grant: GrantRow, facts: AccessFacts, new_state: str, now: datetime) -> datetime:
    """When the change really happened: at expiry, at the passed due date or deadline, else now."""
    if new_state == "expired":
        return min(grant.expires_at, now)
    if new_state != "suspended":
        return now
    moments = [now]
    if facts.grant and facts.grant.review_deadline and facts.grant.review_deadline <= now:
        moments.append(facts.grant.review_deadline)
    for fact in facts.training:
        lapsed_at = training_lapsed_at(fact)
        if lapsed_at is not None and lapsed_at <= now:
            moments.append(lapsed_at)
    last = db.session.scalar(select(func.max(AccessEvent.occurred_at)).where(AccessEvent.grant_id == grant.id))
    earliest = min(moments)
    # Never before the grant's last recorded step: history stays in order.
    return max(earliest, last) if last is not None else earliest


def _mark_reviews_missed(grant_id: int, now: datetime) -> None:
    """Pending review items of this grant whose deadline has passed become missed."""
    campaign_ids = select(ReviewCampaign.id).where(ReviewCampaign.deadline <= now).scalar_subquery()
    db.session.execute(
        update(ReviewItem).where(ReviewItem.grant_id == grant_id, ReviewItem.outcome == "pending",
                                 ReviewItem.campaign_id.in_(campaign_ids)).values(outcome="missed")
    )


def settle_departments(system_ids, *, check_excess: bool, now: datetime) -> None:
    """After a refresh: bring the oldest waiting grants into force where places are free; report excesses."""
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
