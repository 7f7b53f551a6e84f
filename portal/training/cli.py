"""`portal training …`: the materialised training statuses (settle, rebuild from the facts, check)."""
from __future__ import annotations

import sys
import time

import click
from flask.cli import with_appcontext

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.training.status import jst_today
from portal.training.status_rows import check, rebuild, settle


@click.group("training")
def training_group() -> None:
    """Training statuses."""


@training_group.command("settle-status")
@with_appcontext
def settle_status_command() -> None:
    """Settle today's stale status rows (run daily with the completion pass; safe to repeat)."""
    started = time.perf_counter()
    rows = settle(jst_today(), utcnow())
    db.session.commit()
    click.echo(f"settled {rows} status rows in {time.perf_counter() - started:.1f} s")


@training_group.command("rebuild-status")
@with_appcontext
def rebuild_status_command() -> None:
    """Rebuild every status row and count from the facts (assignments, progress, editions, people)."""
    started = time.perf_counter()
    rows = rebuild(jst_today(), utcnow())
    db.session.commit()
    click.echo(f"rebuilt {rows} status rows in {time.perf_counter() - started:.1f} s")


@training_group.command("check-status")
@with_appcontext
def check_status_command() -> None:
    """Exit 1 naming every status row or count that differs from the facts and the status rule."""
    problems = check(jst_today())
    db.session.rollback()
    for problem in problems:
        click.echo(f"drift: {problem}", err=True)
    click.echo("status rows agree with the facts" if not problems else f"{len(problems)} problems (first 200 shown)")
    sys.exit(1 if problems else 0)
