"""The daily schedule and the minute's sweep, run by the queue consumers.

Every consumer's scheduler enqueues `jobs.tick` each minute (under a Huey task lock, so two ticks do
not overlap). A tick (1) starts each daily task whose latest slot, PORTAL_DAILY_AT in Japan time,
has no run yet, (2) re-announces jobs nobody has touched for a lease, (3) wakes the mail outbox
and (4) expires old results. `portal worker` ticks once at start: a day missed while every
consumer was down is caught up once, then.

The daily tasks: reminders and digests; the access run (expiries of requests and look-ups, review
deadlines, decisions whose time came; grants end by their own dates); recurring review campaigns;
the coverage snapshot of yesterday; the purge of ended sign-in links; the audit anchor.

A daily run happens once per slot whatever the number of consumers: its row (name, slot) is
unique, so of two consumers inserting it one wins; a run whose consumer died (its lease went
stale) or that failed is taken over by a later tick, at most MAX_ATTEMPTS times.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, time, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from portal.core.timeutil import JST, to_jst, utcnow
from portal.extensions import db
from portal.jobs.engine import expire_results, rescue_jobs
from portal.jobs.models import ScheduleRun
from portal.jobs.queue import enqueue
from portal.outbox.sending import mail_waiting

log = logging.getLogger(__name__)

#: A daily run silent for this long belongs to a consumer that died.
RUN_LEASE = timedelta(minutes=30)
#: A failed run is tried again by later ticks, this many times in all.
MAX_ATTEMPTS = 3


#: The daily tasks by name, in the order they were registered (portal.wiring registers them), each with
#: an optional test of whether it is switched on in this app (the anchor needs PORTAL_AUDIT_ANCHOR_DIR).
_DAILY: dict[str, tuple[Callable[[], dict], Callable[[], bool] | None]] = {}


def register_daily_task(name: str, func: Callable[[], dict], enabled: Callable[[], bool] | None = None) -> None:
    """Run `func` once a day at PORTAL_DAILY_AT; it returns a summary and commits its own work."""
    _DAILY[name] = (func, enabled)


def daily_tasks() -> dict[str, Callable[[], dict]]:
    """The daily tasks by name that are switched on here; each returns a summary (and commits its own work)."""
    return {name: func for name, (func, enabled) in _DAILY.items() if enabled is None or enabled()}


def parse_daily_at(text: str) -> time:
    """PORTAL_DAILY_AT as a time of day (HH:MM, Japan time)."""
    hours, _sep, minutes = text.strip().partition(":")
    return time(int(hours), int(minutes or 0))


def latest_slot(now: datetime, daily_at: time) -> str:
    """The JST day of the latest daily moment at or before now (yesterday's before today's time)."""
    local = to_jst(now)
    moment = datetime.combine(local.date(), daily_at, tzinfo=JST)
    return (local.date() if local >= moment else local.date() - timedelta(days=1)).isoformat()


def _takeable(now: datetime):
    return or_(and_(ScheduleRun.state == "running", ScheduleRun.heartbeat_at < now - RUN_LEASE),
               and_(ScheduleRun.state == "failed", ScheduleRun.attempts < MAX_ATTEMPTS))


def due_runs(now: datetime) -> list[tuple[str, str]]:
    """(name, slot) of the daily tasks whose latest slot has not run, or whose run may be taken over."""
    slot = latest_slot(now, parse_daily_at(current_app.config["PORTAL_DAILY_AT"]))
    names = list(daily_tasks())
    rows = {row.name: row for row in db.session.scalars(select(ScheduleRun).where(
        ScheduleRun.slot == slot, ScheduleRun.name.in_(names)))}
    stale = now - RUN_LEASE
    due = []
    for name in names:
        row = rows.get(name)
        if row is None or (row.state == "running" and row.heartbeat_at < stale) or (
                row.state == "failed" and row.attempts < MAX_ATTEMPTS):
            due.append((name, slot))
    return due


def claim_run(name: str, slot: str, lease: str, now: datetime) -> bool:
    """Insert the run's row, or take over a dead or failed one; True when this consumer runs it; commits."""
    try:
        db.session.add(ScheduleRun(name=name, slot=slot, state="running", lease=lease, heartbeat_at=now,
                                   attempts=1, started_at=now, summary=""))
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
    taken = db.session.execute(
        update(ScheduleRun).where(ScheduleRun.name == name, ScheduleRun.slot == slot, _takeable(now))
        .values(state="running", lease=lease, heartbeat_at=now, attempts=ScheduleRun.attempts + 1, started_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return taken == 1


def _close_run(name: str, slot: str, lease: str, state: str, summary: dict) -> None:
    db.session.execute(update(ScheduleRun).where(ScheduleRun.name == name, ScheduleRun.slot == slot,
                                                 ScheduleRun.lease == lease)
                       .values(state=state, finished_at=utcnow(), summary=json.dumps(summary, ensure_ascii=False,
                                                                                      default=str))
                       .execution_options(synchronize_session=False))
    db.session.commit()


def run_schedule(name: str, slot: str) -> bool:
    """The `schedules.run` task: run one daily task for its slot unless another consumer did or does."""
    lease = uuid.uuid4().hex
    if not claim_run(name, slot, lease, utcnow()):
        return False
    try:
        summary = daily_tasks()[name]()
    except Exception as error:  # noqa: BLE001 - recorded on the run; a later tick tries again
        db.session.rollback()
        log.exception("daily task %s for %s failed", name, slot)
        _close_run(name, slot, lease, "failed", {"error": repr(error)})
        return False
    _close_run(name, slot, lease, "done", summary or {})
    return True


def tick() -> dict:
    """The `jobs.tick` task: start due daily runs, re-announce forgotten jobs, wake the outbox, expire results."""
    now = utcnow()
    due = due_runs(now)
    forgotten = rescue_jobs(now)
    waiting = mail_waiting(now)
    db.session.rollback()
    for name, slot in due:
        enqueue("schedules.run", name, slot)
    for job_id in forgotten:
        enqueue("jobs.run", job_id)
    if waiting:
        enqueue("outbox.drain")
    expired = expire_results(now)
    return {"daily": due, "jobs": forgotten, "mail": waiting, "expired": expired}
