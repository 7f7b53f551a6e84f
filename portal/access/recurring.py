"""Recurring review campaigns: a system reviewed "every 3 months, deadline 14 days" gets its next
campaign from the daily schedule, started by the system itself (actor None) with a reason.

The next campaign is due once the system's last campaign (started by hand or by the schedule)
began that many months ago; a system with a recurrence and no campaign yet gets its first at the
next daily run. A campaign the schedule starts carries the key of the one it follows
("after:<id>", or "first"), unique per system: two consumers deciding from the same state at
the same moment start one campaign, the second's insert fails and changes nothing.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.access.decision import end_of_day_jst
from portal.access.models import ProtectedSystem, ReviewCampaign
from portal.access.reviews import start_campaign
from portal.core.timeutil import to_jst, utcnow
from portal.extensions import db


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has fewer (31 Jan + 1 → 28/29 Feb)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_campaign_day(last_started: datetime | None, every_months: int | None, today: date) -> date | None:
    """The JST day the next recurring campaign is due (today when none was ever started); None: no recurrence."""
    if every_months is None:
        return None
    if last_started is None:
        return today
    return add_months(to_jst(last_started).date(), every_months)


def recurrence_key(last: ReviewCampaign | None) -> str:
    """The key of the campaign that follows `last` (unique per system)."""
    return "first" if last is None else f"after:{last.id}"


def _last_campaign(system_id: int) -> ReviewCampaign | None:
    return db.session.scalar(select(ReviewCampaign).where(ReviewCampaign.system_id == system_id)
                             .order_by(ReviewCampaign.started_at.desc(), ReviewCampaign.id.desc()).limit(1))


def start_recurring_campaign(system: ProtectedSystem, key: str, now: datetime) -> ReviewCampaign | None:
    """Start the system's campaign for `key` unless one exists (another consumer's); flushes in a savepoint."""
    today = to_jst(now).date()
    deadline = end_of_day_jst(today + timedelta(days=system.review_deadline_days)).astimezone(timezone.utc)
    title = f"{system.name_ja} 定期点検（{today.isoformat()}）"
    reason = (f"定期点検: {system.review_every_months}か月ごと、期限{system.review_deadline_days}日"
              f" (recurring review every {system.review_every_months} months)")
    try:
        with db.session.begin_nested():
            return start_campaign(None, system, title, deadline, now=now, recurrence_key=key, reason=reason)
    except IntegrityError:  # the same campaign, started by another consumer a moment ago
        return None


def start_due_campaigns(now: datetime | None = None) -> dict:
    """The daily task: start every recurring campaign that is due; commits; a summary."""
    now = now or utcnow()
    today = to_jst(now).date()
    started = []
    systems = db.session.scalars(select(ProtectedSystem).where(ProtectedSystem.review_every_months.is_not(None))
                                 .order_by(ProtectedSystem.code)).all()
    for system in systems:
        last = _last_campaign(system.id)
        due = next_campaign_day(last.started_at if last else None, system.review_every_months, today)
        if due is not None and due <= today and start_recurring_campaign(system, recurrence_key(last), now):
            started.append(system.code)
    db.session.commit()
    return {"campaigns_started": started}
