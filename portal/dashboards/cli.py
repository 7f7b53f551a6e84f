"""`portal dashboards snapshot`: settle the training statuses and record today's point of the trend."""
from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from portal.core.timeutil import utcnow
from portal.dashboards.services import refresh_completion
from portal.extensions import db
from portal.training.status import jst_today


@click.group("dashboards")
def dashboards_group() -> None:
    """Completion dashboards."""


@dashboards_group.command("snapshot")
@with_appcontext
def snapshot_command() -> None:
    """Settle today's training statuses and record today's point of the trend (safe to repeat)."""
    started = time.perf_counter()
    cells = refresh_completion(jst_today(), utcnow())
    db.session.commit()
    click.echo(f"counted {cells} department × manual cells in {time.perf_counter() - started:.1f} s")
