"""The training status rule (受講状況) as a pure function, decided on Japan's calendar (the engine's base).

Training for (person, manual) is current when the person attested the manual's latest
material edition (or a later minor one) after passing its quiz, within the manual's
validity period. An attestation whose certificate was revoked does not count: the rule sees
the newest attestation that still counts (counting_attestation). Everything here takes data and
returns a result: no app, no database.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple

from portal.core.timeutil import JST, to_jst, utcnow

NOT_REQUIRED = "not_required"
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
CURRENT = "current"
DUE = "due"
OVERDUE = "overdue"
EXPIRED = "expired"

#: Every status a pair can have; not_required means there is no assignment.
STATUSES = (NOT_REQUIRED, NOT_STARTED, IN_PROGRESS, CURRENT, DUE, OVERDUE, EXPIRED)
#: Statuses under which training-gated access may stay in force (due: until its due date).
ACCEPTABLE_FOR_ACCESS = frozenset({CURRENT, DUE})
_JST_OFFSET = timedelta(hours=9)
#: Statuses from most to least urgent (the order "My training" lists manuals in).
URGENCY_ORDER = (OVERDUE, EXPIRED, DUE, IN_PROGRESS, NOT_STARTED, CURRENT, NOT_REQUIRED)
#: "My training" groups, most urgent first.
TASK_GROUPS = ("overdue", "due_soon", "in_progress", "not_started", "current")
#: Unfinished training due within this many days is listed under "due soon".
DUE_SOON_DAYS = 14


class TrainingFacts(NamedTuple):
    """What the rule needs to know about one person × manual (a tuple: lists build thousands)."""

    #: The person must train on the manual (a TrainingAssignment exists).
    assigned: bool
    #: The assignment's due date (JST calendar day, inclusive).
    due_date: date | None = None
    #: Number of the manual's latest material edition (None: the manual has none).
    required_edition: int | None = None
    #: Number of the newest edition the person attested, among attestations that count (not
    #: revoked; see counting_attestation). None: never attested, or every attestation was revoked.
    attested_edition: int | None = None
    #: Last day that attestation counts (inclusive); None when the manual has no validity period.
    valid_until: date | None = None
    #: Number of the newest edition the person started a quiz on (None: never).
    started_edition: int | None = None


class AttestationFact(NamedTuple):
    """One attestation of a manual by a person, as far as the status rule cares."""

    edition_number: int
    attested_at: datetime
    #: Its certificate was revoked: it no longer counts.
    revoked: bool = False
    id: int = 0


def counting_attestation(attestations) -> AttestationFact | None:
    """The attestation the status counts: the newest (by edition, then moment) whose certificate is not revoked.

    The database keeps training_progress equal to this (a trigger of migration 0011 recounts it
    when a certificate is revoked), so every status read follows.
    """
    counting = [a for a in attestations if not a.revoked]
    return max(counting, key=lambda a: (a.edition_number, a.attested_at, a.id), default=None)


def training_status(facts: TrainingFacts, today: date) -> str:
    """The one rule: not_required, not_started, in_progress, current, due, overdue or expired."""
    if not facts.assigned:
        return NOT_REQUIRED
    required = facts.required_edition or 0
    attested = facts.attested_edition is not None
    within_validity = attested and (facts.valid_until is None or today <= facts.valid_until)
    if attested and facts.attested_edition >= required:
        return CURRENT if within_validity else EXPIRED
    if facts.due_date is not None and today > facts.due_date:
        return OVERDUE
    if attested:
        # Current on an earlier material edition: still acceptable until the new due date.
        return DUE if within_validity else EXPIRED
    if facts.started_edition is not None and facts.started_edition >= required:
        return IN_PROGRESS
    return NOT_STARTED


#: TrainingStatusRow.standing: what the person has done towards the manual's required edition.
NOTHING, STARTED, ATTESTED_EARLIER, ATTESTED_REQUIRED = 0, 1, 2, 3


def standing_of(facts: TrainingFacts) -> int:
    """How far the person got towards the required edition (the part of the facts that time does not change)."""
    required = facts.required_edition or 0
    if facts.attested_edition is not None:
        return ATTESTED_REQUIRED if facts.attested_edition >= required else ATTESTED_EARLIER
    if facts.started_edition is not None and facts.started_edition >= required:
        return STARTED
    return NOTHING


def settled_status(standing: int, due_date: date | None, valid_until: date | None, today: date) -> str:
    """training_status of an assigned pair from its standing and two dates (what settled rows store)."""
    within_validity = valid_until is None or today <= valid_until
    if standing == ATTESTED_REQUIRED:
        return CURRENT if within_validity else EXPIRED
    if due_date is not None and today > due_date:
        return OVERDUE
    if standing == ATTESTED_EARLIER:
        return DUE if within_validity else EXPIRED
    return IN_PROGRESS if standing == STARTED else NOT_STARTED


def next_status_change(standing: int, due_date: date | None, valid_until: date | None, after: date) -> date | None:
    """The first day after `after` on which settled_status may change by the passing of time alone."""
    days = []
    if standing != ATTESTED_REQUIRED and due_date is not None:
        days.append(due_date + timedelta(days=1))
    if standing in (ATTESTED_EARLIER, ATTESTED_REQUIRED) and valid_until is not None:
        days.append(valid_until + timedelta(days=1))
    later = [day for day in days if day > after]
    return min(later) if later else None


def task_group(status: str, due_date: date | None, today: date) -> str:
    """The "My training" group of a manual: overdue, due_soon, in_progress, not_started or current."""
    if status in (OVERDUE, EXPIRED):
        return "overdue"
    if status == DUE:
        return "due_soon"
    if status in (IN_PROGRESS, NOT_STARTED):
        if due_date is not None and (due_date - today).days <= DUE_SOON_DAYS:
            return "due_soon"
        return status
    return "current"


def jst_today(now: datetime | None = None) -> date:
    """Today's date in Japan (the day every due date and validity is counted in)."""
    return to_jst(now or utcnow()).date()


def jst_date(moment: datetime) -> date:
    """The Japanese calendar day of a stored UTC moment (JST is UTC+9 all year: no DST)."""
    if moment.tzinfo is not None and moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return (moment + _JST_OFFSET).date()


def jst_day_start_utc(day: date) -> datetime:
    """The UTC instant at which a JST calendar day begins."""
    return datetime.combine(day, time(0), tzinfo=JST).astimezone(timezone.utc)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the month's last day."""
    year, month = divmod(day.year * 12 + (day.month - 1) + months, 12)
    month += 1
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))


@lru_cache(maxsize=4096)
def validity_end(attested_on: date, validity_months: int | None) -> date | None:
    """Last day an attestation made on `attested_on` counts; None when it never expires.

    Attested 2026-04-01 with 12 months: valid up to and including 2027-03-31.
    """
    if not validity_months:
        return None
    return add_months(attested_on, validity_months) - timedelta(days=1)


def earliest_valid_attestation_day(today: date, validity_months: int | None) -> date | None:
    """The first attestation day whose validity still covers `today`; None when nothing expires.

    validity_end is monotonic in its day, so the valid days are exactly those on or after this one.
    Set-based queries compare against it instead of computing an end per row.
    """
    if not validity_months:
        return None
    day = add_months(today, -validity_months) - timedelta(days=4)
    while validity_end(day, validity_months) < today:
        day += timedelta(days=1)
    return day
