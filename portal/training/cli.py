"""`portal training …`: the materialised training statuses (settle, rebuild from the facts, check)."""
from __future__ import annotations

import sys
import time

import click
from flask.cli import with_appcontext

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.jobs.services import announce_job, create_job
from portal.training.jobs import KIND
from portal.training.status import check, jst_today, rebuild, settle


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
@click.option("--in-background", is_flag=True, help="Queue it as a job for the queue's consumers (`portal jobs list`).")
@with_appcontext
def rebuild_status_command(in_background: bool) -> None:
    """Rebuild every status row and count from the facts (assignments, progress, editions, people)."""
    if in_background:
        job = create_job(None, KIND, {})
        db.session.commit()
        announce_job(job.id)
        click.echo(f"job {job.id} queued")
        return
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
