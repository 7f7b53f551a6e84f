"""Who is owed which reminder: pure decisions on Japan's calendar, tested without a database."""
from __future__ import annotations

from datetime import date, timedelta

from portal.training.status import DUE, EXPIRED, IN_PROGRESS, NOT_STARTED, OVERDUE

DUE_SOON = "due_soon"
OVERDUE_KIND = "overdue"
DIGEST = "digest"
#: Statuses still open before the due date; reminded when the due date is near.
OPEN_STATUSES = (NOT_STARTED, IN_PROGRESS, DUE)
#: Statuses that need action now; reminded every day until done.
BEHIND_STATUSES = (OVERDUE, EXPIRED)


def reminder_kind(status: str, due_date: date | None, today: date, days_before: int) -> str | None:
    """overdue, due_soon or None for one person × manual today."""
    if status in BEHIND_STATUSES:
        return OVERDUE_KIND
    if status in OPEN_STATUSES and due_date is not None and today <= due_date <= today + timedelta(days=days_before):
        return DUE_SOON
    return None


def week_start(day: date) -> date:
    """The Monday of the ISO week holding `day`: the key that makes the digest weekly."""
    return day - timedelta(days=day.weekday())


def days_left(due_date: date | None, today: date) -> int | None:
    """Days until the due date (negative once it has passed)."""
    return None if due_date is None else (due_date - today).days
