"""Review campaigns (権限付与状況の点検): every live grant goes to the person's manager by a deadline.

A grant not reviewed by the deadline is suspended (review_missed), not left in force and not
deleted; a manager may still review it late, and a kept grant then comes back in force.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from sqlalchemy import exists, insert, select, update

from portal.access import notify
from portal.access.models import AccessEvent, AccessGrant, ReviewCampaign, ReviewItem
from portal.access.refresh import refresh_access_decisions
from portal.access.services import GRANT, LIVE_STATES, grant_witness, revoke_grant
from portal.approvals.queries import approver_ids_for
from portal.approvals.rules import reason_problem
from portal.audit.services import record_event
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.core.workflow import Meanwhile, StepLost, refuse_unless, try_move
from portal.extensions import db
from portal.org.models import Person


def start_campaign(actor: Person | None, system, title: str, deadline: datetime, now: datetime | None = None,
                   recurrence_key: str | None = None, reason: str = "") -> ReviewCampaign:
    """A grant owner (or, for a recurring campaign, the schedule: actor None) puts every live grant
    of the system up for review by `deadline`."""
    now = now or utcnow()
    if actor is None and recurrence_key is None:
        raise Refusal("not_grant_owner")
    if actor is not None and actor.id not in {owner.id for owner in system.grant_owners}:
        raise Refusal("not_grant_owner")
    if not title.strip():
        raise Refusal("title_missing", "title")
    if deadline <= now:
        raise Refusal("deadline_in_past", "deadline")
    campaign = ReviewCampaign(system_id=system.id, title=title.strip()[:200], started_by_id=getattr(actor, "id", None),
                              started_at=now, deadline=deadline, recurrence_key=recurrence_key)
    db.session.add(campaign)
    db.session.flush()
    grants = db.session.execute(select(AccessGrant.id, AccessGrant.person_id).where(
        AccessGrant.system_id == system.id, AccessGrant.state.in_(LIVE_STATES))).all()
    if grants:
        db.session.execute(insert(ReviewItem), [
            {"campaign_id": campaign.id, "grant_id": g.id, "outcome": "pending", "reason": ""} for g in grants])
    record_event(actor, "access.review_started", object_type="review_campaign", object_id=campaign.id,
                 reason=reason, details={"system": system.code, "title": campaign.title,
                                         "deadline": deadline.isoformat(), "grants": len(grants),
                                         "recurrence": recurrence_key})
    refresh_access_decisions([g.person_id for g in grants], system_ids=[system.id], now=now)
    _notify_reviewers(campaign, [g.id for g in grants], reminder=False)
    return campaign


def _notify_reviewers(campaign: ReviewCampaign, grant_ids: list[int], reminder: bool) -> int:
    """One message per reviewer, counting their grants; returns how many reviewers were told."""
    if not grant_ids:
        return 0
    counts: dict[int, int] = defaultdict(int)
    people = db.session.scalars(select(Person).join(AccessGrant, AccessGrant.person_id == Person.id)
                                .where(AccessGrant.id.in_(grant_ids))).all()
    for person in people:
        for reviewer_id in approver_ids_for(person):
            counts[reviewer_id] += 1
    for reviewer_id, count in counts.items():
        notify.reviews_waiting([reviewer_id], campaign, count, reminder)
    return len(counts)


REVIEW = "review_item"
UNDECIDED = ("pending", "missed")


def review_witness(item: ReviewItem):
    """Who reviewed an item, and when (for the loser of a race)."""
    return item.reviewed_by, item.reviewed_at


def _hold_live_grant(grant: AccessGrant) -> None:
    """Lock the grant's row (PostgreSQL) so a revocation elsewhere waits for this review; StepLost if it ended."""
    state = db.session.scalar(select(AccessGrant.state).where(AccessGrant.id == grant.id).with_for_update())
    if state not in LIVE_STATES:
        db.session.refresh(grant)
        by, at = grant_witness(grant)
        raise StepLost(GRANT, Meanwhile(grant.state, by, at))


def review_grant(actor: Person, item: ReviewItem, keep: bool, reason: str, now: datetime | None = None) -> None:
    """The person's manager keeps or revokes the grant, with a reason (late reviews count too).

    An item is decided once; a "keep" only while the grant is still live (in the same statement),
    so a grant revoked meanwhile is never left with a kept review.
    """
    now = now or utcnow()
    grant = item.grant
    if actor.id == grant.person_id:
        raise Refusal("own_request")
    if actor.id not in approver_ids_for(grant.person):
        raise Refusal("not_the_manager")
    if reason_problem(reason):
        raise Refusal("reason_too_short", "reason")
    seen = item.outcome
    refuse_unless(item, "outcome", UNDECIDED, subject=REVIEW, witness=review_witness)
    outcome = "kept" if keep else "revoked"
    still_live = exists().where(AccessGrant.id == grant.id, AccessGrant.state.in_(LIVE_STATES))
    try:
        _hold_live_grant(grant)
        if not try_move(ReviewItem, item.id, "outcome", seen, {
                "outcome": outcome, "reviewed_by_id": actor.id, "reviewed_at": now, "reason": reason.strip()},
                still_live):
            _hold_live_grant(grant)  # the grant ended meanwhile (else the item moved: said below)
            raise StepLost(REVIEW, Meanwhile(seen))
    except StepLost:
        # Another manager's review (which may have revoked the grant) is what the loser should hear of.
        db.session.refresh(item)
        refuse_unless(item, "outcome", seen, subject=REVIEW, witness=review_witness)
        raise
    db.session.refresh(item)
    late = now >= item.campaign.deadline
    db.session.add(AccessEvent(request_id=grant.request_id, grant_id=grant.id, kind="reviewed", occurred_at=now,
                               recorded_at=now, actor_id=actor.id, reason=reason.strip(),
                               details_json=json.dumps({"campaign": item.campaign_id, "outcome": item.outcome,
                                                        "late": late})))
    record_event(actor, "access.reviewed", object_type="access_grant", object_id=grant.id, reason=reason.strip(),
                 details={"campaign": item.campaign_id, "outcome": item.outcome, "late": late,
                          "system": grant.system.code, "person": grant.person.employee_no})
    if keep:
        refresh_access_decisions([grant.person_id], system_ids=[grant.system_id], now=now)
    else:
        revoke_grant(actor, grant, reason, now=now)


def remind_reviewers(actor: Person | None, campaign: ReviewCampaign, now: datetime | None = None) -> int:
    """Remind managers of grants still pending before the deadline; returns reviewers reminded."""
    now = now or utcnow()
    if actor is not None and actor.id not in {owner.id for owner in campaign.system.grant_owners}:
        raise Refusal("not_grant_owner")
    if now >= campaign.deadline:
        raise Refusal("campaign_closed")
    pending = db.session.execute(select(ReviewItem.id, ReviewItem.grant_id).where(
        ReviewItem.campaign_id == campaign.id, ReviewItem.outcome == "pending")).all()
    if not pending:
        return 0
    db.session.execute(update(ReviewItem).where(ReviewItem.id.in_([p.id for p in pending]))
                       .values(last_reminded_at=now))
    reviewers = _notify_reviewers(campaign, [p.grant_id for p in pending], reminder=True)
    record_event(actor, "access.review_reminded", object_type="review_campaign", object_id=campaign.id,
                 details={"pending": len(pending), "reviewers": reviewers})
    return reviewers


def apply_review_deadlines(now: datetime | None = None) -> int:
    """Suspend grants whose review deadline passed unreviewed (cron and campaign pages); returns items."""
    now = now or utcnow()
    person_ids = db.session.scalars(
        select(AccessGrant.person_id).join(ReviewItem, ReviewItem.grant_id == AccessGrant.id)
        .join(ReviewCampaign, ReviewCampaign.id == ReviewItem.campaign_id)
        .where(ReviewItem.outcome == "pending", ReviewCampaign.deadline <= now)).all()
    if person_ids:
        refresh_access_decisions(person_ids, now=now)
    # Items of grants that were no longer live (revoked, expired) are missed too, for the record.
    campaigns = select(ReviewCampaign.id).where(ReviewCampaign.deadline <= now).scalar_subquery()
    db.session.execute(update(ReviewItem).where(ReviewItem.outcome == "pending",
                                                ReviewItem.campaign_id.in_(campaigns)).values(outcome="missed"))
    db.session.flush()
    return len(person_ids)
