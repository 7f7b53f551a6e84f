"""`portal worker` (a queue consumer) and `portal jobs …` (what the consumers are doing)."""
from __future__ import annotations

import gc
import logging
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from huey.storage import MemoryStorage

from portal.core.timeutil import to_jst, utcnow
from portal.extensions import db
from portal.jobs.models import Job, ScheduleRun
from portal.jobs.queue import get_queue
from portal.jobs.schedules import latest_slot, parse_daily_at, tick


@click.command("worker")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Tasks this consumer runs at once (threads). Rendering is CPU-bound: for more CPU, start one "
                   "`portal worker` per core (on as many hosts as you like) rather than more threads.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run a queue consumer: jobs, the mail outbox and the daily schedule (Ctrl+C stops it)."""
    app = current_app._get_current_object()
    huey, _tasks = get_queue(app)
    if huey.immediate or isinstance(huey.storage, MemoryStorage):
        click.echo("PORTAL_JOBS_URL names a queue only this process sees (memory:// or immediate://): "
                   "leave it empty (SQLite under instance/) or give redis://…", err=True)
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    # Catch up at once: a daily run missed while every consumer was down, jobs whose consumer died.
    click.echo(f"catch-up: {tick()}")
    db.session.remove()
    # What start-up made (modules, the app: ~230,000 objects) lives as long as the consumer: out of the garbage
    # collector's way, its full passes no longer walk it every few certificates (~3 ms a certificate, measured).
    gc.collect()
    gc.freeze()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True, max_delay=1.0,
                                    check_worker_health=True)
    consumer.run()


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs."""


@jobs_group.command("list")
@click.option("--limit", default=20, show_default=True)
@with_appcontext
def list_command(limit: int) -> None:
    """The latest jobs: id, kind, state, progress, who started them, when."""
    from sqlalchemy import select


    for job in db.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)):
        click.echo(f"{job.id}\t{job.kind}\t{job.state}\t{job.done}/{job.total}\t{job.started_by_id or '-'}\t"
                   f"{to_jst(job.created_at):%Y-%m-%d %H:%M}\t{job.error}")


@jobs_group.command("tick")
@with_appcontext
def tick_command() -> None:
    """Run the minute's sweep now (daily runs due, forgotten jobs, mail): consumers do the work."""
    click.echo(tick())


@jobs_group.command("schedule")
@with_appcontext
def schedule_command() -> None:
    """The daily runs of the last days: name, slot, state, attempts, summary."""
    from sqlalchemy import select


    click.echo(f"daily at {current_app.config['PORTAL_DAILY_AT']} JST; latest slot "
               f"{latest_slot(utcnow(), parse_daily_at(current_app.config['PORTAL_DAILY_AT']))}")
    for run in db.session.scalars(select(ScheduleRun).order_by(ScheduleRun.id.desc()).limit(20)):
        click.echo(f"{run.name}\t{run.slot}\t{run.state}\t{run.attempts}\t{run.summary}")
