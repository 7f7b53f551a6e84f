"""The daily runs of the schedule at PORTAL_DAILY_AT that are not one feature's own: the access run
(expire undecided requests and look-ups, apply review deadlines, record decisions whose time has
come), recurring review campaigns, the audit anchor, the purge of ended sign-in links and the
coverage snapshot. Each commits its own work and returns a summary.

It sits above the features because it composes several of them; portal.wiring registers each, with
the reminders' run, as a daily task.
"""
from __future__ import annotations

from flask import current_app

from portal.access.coverage import catch_up
from portal.access.coverage_snapshots import last_complete_day, take_coverage_snapshot
from portal.access.reviews import apply_review_deadlines
from portal.access.services import expire_requests
from portal.audit.services import anchor_trail
from portal.auth.account_links import purge_ended_links
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.lookups.services import expire_lookups


def expire_and_apply_deadlines() -> dict:
    """Apply the clock to requests, look-ups, review deadlines and access decisions; commits; a summary."""
    summary = {"requests_expired": expire_requests(), "lookups_expired": expire_lookups(),
               "review_items_past_deadline": apply_review_deadlines(), "decisions_updated": catch_up()}
    db.session.commit()
    return summary


def anchoring_is_on() -> bool:
    """The anchor runs only where PORTAL_AUDIT_ANCHOR_DIR is set (it is by default)."""
    return bool(current_app.config.get("PORTAL_AUDIT_ANCHOR_DIR"))


def write_daily_anchor() -> dict:
    """Verify the audit trail and append its signed anchor (a broken trail fails the run, visibly); commits."""
    written = anchor_trail()
    db.session.commit()
    return {"seq": written.seq, "hash": written.hash, "file": str(written.path)}


def keep_coverage_snapshot() -> dict:
    """Keep each system's coverage per department at the end of yesterday (JST; kept once); commits."""
    now = utcnow()
    day = last_complete_day(now)
    written = take_coverage_snapshot(day, now)
    db.session.commit()
    return {"day": day.isoformat(), "rows": written}


def purge_links() -> dict:
    """Delete sign-in links that ended long ago (they expire by themselves; this only tidies); commits."""
    deleted = purge_ended_links()
    db.session.commit()
    return {"links_deleted": deleted}
