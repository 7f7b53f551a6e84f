"""The daily reminder run: count the organisation, then put today's reminders and this week's digests
in the outbox. The schedule runs it at PORTAL_DAILY_AT; `portal reminders send` runs it by hand.

Each reminder is first a reminder_log row (unique per person, kind, JST day and manual; per ISO
week for digests) claimed by this run and committed; its message then goes into the outbox in the
same transaction that marks the rows done, so a crash leaves either both or neither. The outbox
key is derived from the rows: the same rows never make two messages. Sending, retries and the
failures admins see are the outbox's (portal/outbox/sending.py).
"""
from __future__ import annotations

from datetime import date

from flask import current_app

from portal.core import signals
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.outbox.services import queue_mail
from portal.reminders import messages, services
from portal.training.status import jst_today


def send_daily_reminders(today: date | None = None, digest: bool = True, snapshot: bool = True) -> dict:
    """Count the organisation (unless told not to), then queue what is owed today; commits; returns a summary."""
    today = today or jst_today()
    if snapshot:
        signals.daily_run_started.send("reminders", today=today, now=utcnow())  # dashboards count the organisation
        db.session.commit()
    claim, days_before = services.new_claim(), current_app.config["PORTAL_REMINDER_DAYS_BEFORE"]
    claimed = services.claim_learner_reminders(today, utcnow(), claim, days_before)
    claimed_digests = services.claim_digests(today, utcnow(), claim) if digest else 0
    db.session.commit()
    reminders = messages.claimed_learner_messages(claim, today)
    digests = messages.claimed_digest_messages(claim, today) if digest else []
    now = utcnow()
    for message in reminders + digests:
        queue_mail(message.mail, services.message_key(message.log_ids))
        services.mark_sent(message.log_ids, now)
    services.release_claim(claim)
    summary = {"day": today.isoformat(), "reminders_claimed": claimed, "digests_claimed": claimed_digests,
               "messages": len(reminders), "digests": len(digests), "queued": len(reminders) + len(digests)}
    services.record_run(summary)
    db.session.commit()
    return summary
