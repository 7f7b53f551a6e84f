"""The daily access run (the schedule at PORTAL_DAILY_AT): expire undecided requests and look-ups,
apply review deadlines, and record decisions whose time has come.

It sits above the features because it composes two of them (access and look-ups, which is built
on access); portal.wiring registers it, with the reminders' run, as a daily task.
"""
from __future__ import annotations

from portal.access.coverage import catch_up
from portal.access.reviews import apply_review_deadlines
from portal.access.services import expire_requests
from portal.extensions import db
from portal.lookups.services import expire_lookups


def expire_and_apply_deadlines() -> dict:
    """Apply the clock to requests, look-ups, review deadlines and access decisions; commits; a summary."""
    summary = {"requests_expired": expire_requests(), "lookups_expired": expire_lookups(),
               "review_items_past_deadline": apply_review_deadlines(), "decisions_updated": catch_up()}
    db.session.commit()
    return summary
