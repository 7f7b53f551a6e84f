"""`portal reminders send`: the daily reminder run by hand (the queue's schedule runs it at PORTAL_DAILY_AT).

It counts the organisation, queues what is owed in the outbox (see daily.py), then sends the outbox
at once, so a site without a running consumer still gets its mail. Safe to run again: nobody gets
a reminder twice a day. Exit 1 when any message failed, so cron reports it (the outbox retries it).
"""
from __future__ import annotations

import sys
import time

import click
from flask.cli import with_appcontext

from portal.outbox.sending import drain_outbox
from portal.reminders.daily import send_daily_reminders
from portal.training.status import jst_today


@click.group("reminders")
def reminders_group() -> None:
    """E-mail reminders about training."""


@reminders_group.command("send")
@click.option("--today", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The JST day to remind for (default: today in Japan).")
@click.option("--no-digest", is_flag=True, help="Skip the managers' weekly digest.")
@click.option("--no-snapshot", is_flag=True, help="Skip counting the organisation for the dashboards.")
@click.option("--queue-only", is_flag=True, help="Only queue the messages: the queue's consumers send them.")
@with_appcontext
def send_command(day, no_digest: bool, no_snapshot: bool, queue_only: bool) -> None:
    """Queue today's due-soon and overdue reminders and this week's manager digests, then send them."""
    today = day.date() if day else jst_today()
    started = time.perf_counter()
    summary = send_daily_reminders(today, digest=not no_digest, snapshot=not no_snapshot)
    sent = drain_outbox() if not queue_only else {"sent": 0, "failed": 0}
    click.echo(f"{today.isoformat()}: {summary['queued']} messages queued ({summary['messages']} reminders, "
               f"{summary['digests']} digests), {sent['sent']} sent, {sent['failed']} failed, "
               f"in {time.perf_counter() - started:.1f} s")
    if sent["failed"]:
        sys.exit(1)
