"""`portal reminders send`: the daily cron job. Safe to run again: nobody gets a reminder twice a day.

Order (see services.py on crash safety): count the organisation for the dashboards, claim
what is owed and commit, send each message and commit its sent_at at once, give back what
could not be sent (the next run today retries it), and record one audit event.
Exit 1 when any message failed, so cron reports it.
"""
from __future__ import annotations

import sys
import time
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.core.mail import open_transport
from portal.core.timeutil import utcnow
from portal.dashboards.services import refresh_completion
from portal.extensions import db
from portal.reminders import messages, services
from portal.training.status import jst_today


@click.group("reminders")
def reminders_group() -> None:
    """E-mail reminders about training."""


@reminders_group.command("send")
@click.option("--today", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The JST day to remind for (default: today in Japan).")
@click.option("--no-digest", is_flag=True, help="Skip the managers' weekly digest.")
@click.option("--no-snapshot", is_flag=True, help="Skip counting the organisation for the dashboards.")
@with_appcontext
def send_command(day, no_digest: bool, no_snapshot: bool) -> None:
    """Send today's due-soon and overdue reminders and this week's manager digests."""
    today: date = day.date() if day else jst_today()
    started = time.perf_counter()
    if not no_snapshot:
        refresh_completion(today, utcnow())
        db.session.commit()
    claim, days_before = services.new_claim(), current_app.config["PORTAL_REMINDER_DAYS_BEFORE"]
    claimed = services.claim_learner_reminders(today, utcnow(), claim, days_before)
    claimed_digests = 0 if no_digest else services.claim_digests(today, utcnow(), claim)
    db.session.commit()
    reminders = messages.claimed_learner_messages(claim, today)
    digests = [] if no_digest else messages.claimed_digest_messages(claim, today)
    sent, failed = _send_all(reminders + digests)
    services.release_claim(claim)
    summary = {"day": today.isoformat(), "reminders_claimed": claimed, "digests_claimed": claimed_digests,
               "messages": len(reminders), "digests": len(digests), "sent": sent, "failed": failed}
    services.record_run(summary)
    db.session.commit()
    click.echo(f"{today.isoformat()}: {sent} messages sent ({len(reminders)} reminders, {len(digests)} digests), "
               f"{failed} failed, in {time.perf_counter() - started:.1f} s")
    if failed:
        sys.exit(1)


def _send_all(outgoing: list[messages.PersonMessage]) -> tuple[int, int]:
    """Send each message and commit its sent_at at once; a failure reconnects and goes on."""
    if not outgoing:
        return 0, 0
    sent = failed = 0
    transport = None
    try:
        for message in outgoing:
            try:
                transport = transport or open_transport()
                transport.send(message.mail)
            except (OSError, ValueError) as error:
                failed += 1
                current_app.logger.error("reminder to %s not sent: %s", message.mail.to, error)
                if transport is not None:
                    transport.close()
                transport = None
                continue
            services.mark_sent(message.log_ids, utcnow())
            db.session.commit()
            sent += 1
    finally:
        if transport is not None:
            transport.close()
    return sent, failed
