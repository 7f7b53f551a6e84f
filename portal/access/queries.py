"""Reads for the access pages: who approves, training per required manual, what waits for whom."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.access.cap_rules import effective_state_sql
from portal.access.decision import TrainingFact, training_counts_until
from portal.access.models import (
    AccessEvent,
    AccessGrant,
    AccessRequest,
    ProtectedSystem,
    ReviewCampaign,
    ReviewItem,
    system_grant_owners,
)
from portal.access.training_facts import training_facts_for
from portal.approvals.queries import approver_ids_for
from portal.core.i18n import in_language
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Department, Person
from portal.training.status import jst_today


@dataclass(frozen=True)
class TrainingRow:
    """A required manual and the person's training on it, for the request and grant pages."""

    manual_id: int
    slug: str
    title_ja: str
    title_en: str
    status: str
    due_date: date | None
    valid_until: date | None
    #: Training counts for access now (current, or due with its due date not yet passed).
    counts: bool
    #: When it stops counting on its own (None: not on its own).
    counts_until: datetime | None

    def title(self, locale: str) -> str:
        """Title in the viewer's language, falling back to Japanese."""
        return in_language(locale, self.title_ja, self.title_en)


def training_overview(person: Person, system: ProtectedSystem, now: datetime | None = None) -> list[TrainingRow]:
    """The person's training on each manual the system requires, and whether it counts now."""
    now = now or utcnow()
    manuals = system.required_manuals
    facts = training_facts_for([person.id], [m.id for m in manuals], jst_today(now)) if manuals else {}
    rows = []
    for manual in manuals:
        status, due_date, valid_until = facts.get((person.id, manual.id), ("not_required", None, None))
        until = training_counts_until(TrainingFact(manual.slug, status, due_date, valid_until))
        counts = until is None or until > now
        rows.append(TrainingRow(manual.id, manual.slug, manual.title_ja, manual.title_en, status, due_date,
                                valid_until, counts, until if counts else None))
    return rows


def systems_for_requests() -> list[ProtectedSystem]:
    """Every protected system, by code."""
    return list(db.session.scalars(select(ProtectedSystem).order_by(ProtectedSystem.code)))


def systems_owned_by(person: Person) -> list[ProtectedSystem]:
    """The systems this person is a grant owner of."""
    return list(db.session.scalars(select(ProtectedSystem).join(
        system_grant_owners, system_grant_owners.c.system_id == ProtectedSystem.id).where(
        system_grant_owners.c.person_id == person.id).order_by(ProtectedSystem.code)))


def my_requests(person: Person) -> list[AccessRequest]:
    """The person's own requests, newest first."""
    return list(db.session.scalars(select(AccessRequest).where(AccessRequest.person_id == person.id)
                                   .order_by(AccessRequest.id.desc()).limit(50)))


def my_grants(person: Person) -> list[AccessGrant]:
    """The person's own grants, newest first."""
    return list(db.session.scalars(select(AccessGrant).where(AccessGrant.person_id == person.id)
                                   .order_by(AccessGrant.id.desc()).limit(50)))


def _approves_for(manager: Person, managed: list[int], person: Person) -> bool:
    """In a managed department the manager always approves (not for themselves); in a child
    department only when it has no other manager (rare: checked one by one)."""
    if person.id == manager.id:
        return False
    return person.department_id in managed or manager.id in approver_ids_for(person)


def awaiting_approval_by(manager: Person, now: datetime) -> list[AccessRequest]:
    """Undecided, unexpired requests this manager may approve."""
    managed = [d.id for d in manager.managed_departments]
    if not managed:
        return []
    children = select(Department.id).where(Department.parent_id.in_(managed))
    candidates = db.session.scalars(
        select(AccessRequest).join(Person, Person.id == AccessRequest.person_id)
        .where(AccessRequest.status == "awaiting_approval", AccessRequest.expires_at > now,
               AccessRequest.person_id != manager.id,
               (Person.department_id.in_(managed)) | (Person.department_id.in_(children)))
        .order_by(AccessRequest.requested_at)
    ).all()
    return [r for r in candidates if _approves_for(manager, managed, r.person)]


def awaiting_grant_by(owner: Person, now: datetime) -> list[AccessRequest]:
    """Approved, unexpired requests of this person's systems that they may decide."""
    owned = select(system_grant_owners.c.system_id).where(system_grant_owners.c.person_id == owner.id)
    return list(db.session.scalars(
        select(AccessRequest).where(
            AccessRequest.status == "awaiting_grant", AccessRequest.expires_at > now,
            AccessRequest.system_id.in_(owned), AccessRequest.person_id != owner.id,
            AccessRequest.approver_id != owner.id)
        .order_by(AccessRequest.approved_at)))


def reviews_waiting_for(reviewer: Person) -> list[ReviewItem]:
    """Unreviewed items (pending, or missed and still reviewable) of live grants this manager reviews."""
    managed = [d.id for d in reviewer.managed_departments]
    if not managed:
        return []
    children = select(Department.id).where(Department.parent_id.in_(managed))
    items = db.session.scalars(
        select(ReviewItem).join(AccessGrant, AccessGrant.id == ReviewItem.grant_id)
        .join(Person, Person.id == AccessGrant.person_id)
        .where(ReviewItem.outcome.in_(("pending", "missed")), AccessGrant.state.in_(("in_force", "suspended")),
               Person.id != reviewer.id,
               (Person.department_id.in_(managed)) | (Person.department_id.in_(children)))
        .order_by(ReviewItem.campaign_id, ReviewItem.id)
    ).all()
    return [item for item in items if _approves_for(reviewer, managed, item.grant.person)]


def request_history(request_id: int) -> list[AccessEvent]:
    """Every step of a request and its grant, in the order they took effect."""
    return list(db.session.scalars(select(AccessEvent).where(AccessEvent.request_id == request_id)
                                   .order_by(AccessEvent.occurred_at, AccessEvent.id)))


def may_view_request(viewer: Person, request: AccessRequest) -> bool:
    """The requester, their approvers, the system's grant owners, auditors and admins see a request."""
    if viewer.id == request.person_id or viewer.has_role("auditor", "admin"):
        return True
    if viewer.id in {owner.id for owner in request.system.grant_owners}:
        return True
    return viewer.has_role("manager") and viewer.id in approver_ids_for(request.person)


def grants_of_system(system_id: int, state: str | None, page: int, per_page: int = 50) -> list[AccessGrant]:
    """Grants of one system, newest first, optionally in one state."""
    query = select(AccessGrant).where(AccessGrant.system_id == system_id)
    if state:  # by the state as of now: a grant past its end is listed as expired at once
        query = query.where(effective_state_sql(AccessGrant.state, AccessGrant.expires_at, utcnow()) == state)
    return list(db.session.scalars(query.order_by(AccessGrant.id.desc()).offset((page - 1) * per_page)
                                   .limit(per_page).options(selectinload(AccessGrant.person))))


def campaign_items(campaign: ReviewCampaign) -> list[ReviewItem]:
    """Every item of a campaign, with grant and person loaded."""
    return list(db.session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id)
                                   .order_by(ReviewItem.id)))
