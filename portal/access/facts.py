"""Gathering the facts decide_access needs, set-based: a fixed few queries per batch of people."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from portal.access.decision import AccessFacts, GrantFact, TrainingFact
from portal.access.models import AccessGrant, ReviewCampaign, ReviewItem, system_required_manuals
from portal.access.training_facts import training_facts_for
from portal.access.transfer_moves import pending_transfer_grant_ids
from portal.extensions import db
from portal.manuals.models import Manual
from portal.org.models import Person

Pair = tuple[int, int]  # (system_id, person_id)


@dataclass(frozen=True)
class GrantRow:
    """The stored state of a person's latest grant for a system."""

    id: int
    state: str
    suspension_json: str
    expires_at: datetime


def required_manuals_by_system(system_ids) -> dict[int, list[tuple[int, str]]]:
    """(manual id, slug) of every manual each system requires."""
    rows = db.session.execute(
        select(system_required_manuals.c.system_id, Manual.id, Manual.slug)
        .join(Manual, Manual.id == system_required_manuals.c.manual_id)
        .where(system_required_manuals.c.system_id.in_(list(system_ids)))
    )
    result: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for system_id, manual_id, slug in rows:
        result[system_id].append((manual_id, slug))
    return result


def latest_grants(system_ids, person_ids) -> dict[Pair, GrantRow]:
    """The newest grant of each (system, person) among the given ones."""
    rows = db.session.execute(
        select(AccessGrant.id, AccessGrant.system_id, AccessGrant.person_id, AccessGrant.state,
               AccessGrant.suspension_json, AccessGrant.expires_at)
        .where(AccessGrant.system_id.in_(list(system_ids)), AccessGrant.person_id.in_(list(person_ids)))
        .order_by(AccessGrant.id)
    )
    return {(r.system_id, r.person_id): GrantRow(r.id, r.state, r.suspension_json, r.expires_at) for r in rows}


def open_review_deadlines(grant_ids) -> dict[int, datetime]:
    """Earliest deadline of a campaign that has not reviewed each grant yet (pending or missed)."""
    if not grant_ids:
        return {}
    rows = db.session.execute(
        select(ReviewItem.grant_id, func.min(ReviewCampaign.deadline))
        .join(ReviewCampaign, ReviewCampaign.id == ReviewItem.campaign_id)
        .where(ReviewItem.grant_id.in_(list(grant_ids)), ReviewItem.outcome.in_(("pending", "missed")))
        .group_by(ReviewItem.grant_id)
    )
    return dict(rows.all())


def gather_facts(pairs: list[Pair], today: date) -> tuple[dict[Pair, AccessFacts], dict[Pair, GrantRow]]:
    """AccessFacts and the latest grant row for each pair (people unknown to the portal included)."""
    system_ids = {s for s, _ in pairs}
    person_ids = {p for _, p in pairs}
    active = dict(db.session.execute(select(Person.id, Person.active).where(Person.id.in_(person_ids))).all())
    manuals = required_manuals_by_system(system_ids)
    manual_ids = {m for items in manuals.values() for m, _ in items}
    training = training_facts_for(person_ids, manual_ids, today) if manual_ids else {}
    grants = latest_grants(system_ids, person_ids)
    deadlines = open_review_deadlines([g.id for g in grants.values()])
    transfers = pending_transfer_grant_ids([g.id for g in grants.values()])
    facts: dict[Pair, AccessFacts] = {}
    for system_id, person_id in pairs:
        if person_id not in active:
            facts[(system_id, person_id)] = AccessFacts(person_known=False)
            continue
        grant = grants.get((system_id, person_id))
        grant_fact = None if grant is None else GrantFact(
            revoked=grant.state == "revoked", expires_at=grant.expires_at,
            review_deadline=deadlines.get(grant.id), transfer_pending=grant.id in transfers,
            waiting_for_room=grant.state == "waiting_for_room")
        trained = []
        for manual_id, slug in manuals.get(system_id, []):
            status, due_date, valid_until = training.get((person_id, manual_id), ("not_required", None, None))
            trained.append(TrainingFact(slug, status, due_date, valid_until))
        facts[(system_id, person_id)] = AccessFacts(
            person_known=True, person_active=bool(active[person_id]), grant=grant_fact, training=tuple(trained))
    return facts, grants
