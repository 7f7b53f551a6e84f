"""`portal systems token CODE` and `portal access expire|refresh|remind|snapshot` (the last ones for cron)."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.access.coverage import catch_up
from portal.access.coverage_snapshots import last_complete_day, take_coverage_snapshot
from portal.access.models import ApiToken, ProtectedSystem, ReviewCampaign
from portal.access.refresh import refresh_access_decisions
from portal.access.reviews import apply_review_deadlines, remind_reviewers
from portal.access.services import expire_requests
from portal.access.systems import create_api_token
from portal.core.timeutil import utcnow
from portal.extensions import db


@click.group("systems")
def systems_group() -> None:
    """Protected systems and their API tokens."""


@systems_group.command("token")
@click.argument("code")
@click.option("--name", default="", help="What the token is for, shown to admins.")
@with_appcontext
def token_command(code: str, name: str) -> None:
    """Create an API token for system CODE; the token is printed once, as the last line."""
    system = db.session.scalar(select(ProtectedSystem).where(ProtectedSystem.code == code))
    if system is None:
        click.echo(f"no protected system has the code {code!r}", err=True)
        sys.exit(1)
    row, token = create_api_token(None, system, name)
    db.session.commit()
    click.echo(f"token {row.id} for {system.code} created; it is shown only now, store it safely:")
    click.echo(token)


@systems_group.command("tokens")
@click.argument("code")
@with_appcontext
def tokens_command(code: str) -> None:
    """List the tokens of system CODE (never the tokens themselves)."""
    system = db.session.scalar(select(ProtectedSystem).where(ProtectedSystem.code == code))
    if system is None:
        click.echo(f"no protected system has the code {code!r}", err=True)
        sys.exit(1)
    for token in db.session.scalars(select(ApiToken).where(ApiToken.system_id == system.id).order_by(ApiToken.id)):
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}Z" if token.revoked_at else "active"
        click.echo(f"{token.id}\t{token.hint}…\t{token.name}\t{state}")


@click.group("access")
def access_group() -> None:
    """Access requests, grants and reviews."""


@access_group.command("expire")
@with_appcontext
def expire_command() -> None:
    """Apply the clock: expire undecided requests, suspend grants past due dates and review deadlines."""
    expired = expire_requests()
    missed = apply_review_deadlines()
    changed = catch_up()
    db.session.commit()
    click.echo(f"requests expired: {expired}; review items past deadline: {missed}; decisions updated: {changed}")


@access_group.command("refresh")
@with_appcontext
def refresh_command() -> None:
    """Recompute every access decision (after an upgrade or a restore)."""
    changed = refresh_access_decisions()
    db.session.commit()
    click.echo(f"decisions updated: {changed}")


@access_group.command("remind")
@with_appcontext
def remind_command() -> None:
    """Remind managers of grants still to review in every open campaign."""
    total = 0
    for campaign in db.session.scalars(select(ReviewCampaign).where(ReviewCampaign.deadline > utcnow())):
        total += remind_reviewers(None, campaign)
    db.session.commit()
    click.echo(f"managers reminded: {total}")


@access_group.command("snapshot")
@click.option("--day", default=None, metavar="YYYY-MM-DD", help="The Japan-time day to keep (default: yesterday).")
@with_appcontext
def snapshot_command(day: str | None) -> None:
    """Keep each system's coverage per department at the end of a day (daily cron; safe to repeat)."""
    from datetime import date


    now = utcnow()
    try:
        chosen = date.fromisoformat(day) if day else last_complete_day(now)
        written = take_coverage_snapshot(chosen, now)
    except ValueError as error:
        click.echo(f"cannot keep the snapshot: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"coverage of {chosen.isoformat()}: {written} department rows kept"
               + ("" if written else " (already kept, or nothing to count)"))
