"""Deciding whether a person may use a protected system now: a pure function of facts and time.

A grant is in force only while it is approved (it exists), not expired, not revoked, its review
not missed, the person active, and every manual the system requires current for that person
(PRODUCT.md). Training that is "due" (current on an earlier edition; a new material edition is
out and its due date has not passed) still counts, so nobody is locked out on the day a manual
is re-edited; it stops counting when the due date (a day in Japan time) has passed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from portal.core.timeutil import JST

#: Every reason code the decision API can give (training_not_current carries ":<manual slug>").
REASON_CODES = ("unknown_person", "person_inactive", "no_grant", "grant_revoked", "grant_expired",
                "grant_suspended", "review_missed", "transfer_unconfirmed", "waiting_for_room",
                "training_not_current")
#: Training statuses that keep a grant in force (until the day named by their date has passed).
COUNTING_STATUSES = ("current", "due")
#: A moment long past: training that does not count at all stopped counting then.
_NEVER_COUNTED = datetime(1970, 1, 1, tzinfo=JST)


@dataclass(frozen=True)
class TrainingFact:
    """A person's training on one required manual, as the training feature reports it today."""

    slug: str
    status: str
    #: Last day (JST) a "due" status counts; after it the training is overdue.
    due_date: date | None = None
    #: Last day (JST) a "current" status counts (validity period); None = no expiry.
    valid_until: date | None = None


@dataclass(frozen=True)
class GrantFact:
    """The person's latest grant for the system."""

    revoked: bool
    expires_at: datetime
    #: Deadline of the earliest review campaign that has not reviewed this grant yet.
    review_deadline: datetime | None = None
    #: The holder moved to another department whose manager has not confirmed the grant yet.
    transfer_pending: bool = False
    #: Every rule holds but the department's cap has no room: the grant waits (空き待ち).
    waiting_for_room: bool = False


@dataclass(frozen=True)
class AccessFacts:
    """Everything the decision depends on, for one person and one system."""

    person_known: bool
    person_active: bool = True
    grant: GrantFact | None = None
    training: tuple[TrainingFact, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The answer: allow or not, why not (stable codes), and until when it holds by time alone."""

    allow: bool
    reasons: tuple[str, ...]
    #: The next moment time alone can change this answer; None when nothing time-based is pending.
    valid_until: datetime | None


def end_of_day_jst(day: date) -> datetime:
    """The first moment after a Japan-time calendar day (its midnight), as aware UTC-comparable."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=JST)


def training_counts_until(fact: TrainingFact) -> datetime | None:
    """The moment this training stops counting for a grant; None when it never does on its own.

    Current training counts to the end of its last valid day; due training also only to the end
    of its due date. Training that does not count at all yields a moment in the distant past.
    """
    if fact.status not in COUNTING_STATUSES:
        return _NEVER_COUNTED
    ends = [end_of_day_jst(fact.valid_until)] if fact.valid_until else []
    if fact.status == "due":
        if fact.due_date is None:
            return _NEVER_COUNTED
        ends.append(end_of_day_jst(fact.due_date))
    return min(ends) if ends else None


def training_lapsed_at(fact: TrainingFact) -> datetime | None:
    """When training stopped (or stops) counting, if its dates say so; else None."""
    if fact.status in COUNTING_STATUSES:
        until = training_counts_until(fact)
        return None if until == _NEVER_COUNTED else until
    ends = []
    if fact.status in ("expired", "overdue") and fact.valid_until is not None:
        ends.append(end_of_day_jst(fact.valid_until))
    if fact.status == "overdue" and fact.due_date is not None:
        ends.append(end_of_day_jst(fact.due_date))
    return min(ends) if ends else None


def decide_access(facts: AccessFacts, now: datetime) -> Decision:
    """Decide access at `now` (aware) from the facts; every failing rule adds its reason."""
    if not facts.person_known:
        return Decision(False, ("unknown_person",), None)
    reasons: list[str] = []
    moments: list[datetime] = []
    if not facts.person_active:
        reasons.append("person_inactive")
    grant = facts.grant
    live = False
    if grant is None:
        reasons.append("no_grant")
    elif grant.revoked:
        reasons.append("grant_revoked")
    elif now >= grant.expires_at:
        reasons.append("grant_expired")
    else:
        live = True
        moments.append(grant.expires_at)
    review_missed = False
    if live and grant.review_deadline is not None:
        if now >= grant.review_deadline:
            review_missed = True
        else:
            moments.append(grant.review_deadline)
    lapsed = []
    for fact in facts.training:
        until = training_counts_until(fact)
        if until is not None and now >= until:
            lapsed.append(fact.slug)
        elif until is not None:
            moments.append(until)
    transfer = live and grant.transfer_pending
    if live and (review_missed or lapsed or not facts.person_active or transfer):
        reasons.append("grant_suspended")
    if review_missed:
        reasons.append("review_missed")
    if transfer:
        reasons.append("transfer_unconfirmed")
    reasons.extend(f"training_not_current:{slug}" for slug in sorted(set(lapsed)))
    if live and grant.waiting_for_room and not reasons:
        reasons.append("waiting_for_room")
    return Decision(not reasons, tuple(reasons), min(moments) if moments else None)


def suspension_codes(reasons: tuple[str, ...]) -> tuple[str, ...]:
    """The causes of a suspension among decision reasons (without grant_suspended itself)."""
    return tuple(r for r in reasons if r in ("person_inactive", "review_missed", "transfer_unconfirmed")
                 or r.startswith("training_not_current:"))


def grant_state_for(current_state: str, decision: Decision) -> str:
    """The grant's lifecycle state the decision implies: revoked/expired stay final.

    A grant that only waits for room under the cap is a candidate for in force: whether it gets
    there is the cap's decision (portal.access.cap), taken under the department's lock.
    """
    if current_state in ("revoked", "expired"):
        return current_state
    if "grant_expired" in decision.reasons:
        return "expired"
    return "in_force" if decision.allow or decision.reasons == ("waiting_for_room",) else "suspended"
