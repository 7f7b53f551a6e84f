"""Reads of jobs for "My downloads": a person's recent jobs (one query) and the progress figures."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from portal.core.timeutil import as_utc
from portal.extensions import db
from portal.jobs.models import FINAL_STATES, Job

#: Jobs listed at most, newest first.
LISTED = 50


def recent_jobs(person_id: int | None, now: datetime) -> list[Job]:
    """A person's (None: everyone's) unfinished jobs and those finished within PORTAL_JOBS_KEEP_DAYS."""
    since = now - timedelta(days=current_app.config["PORTAL_JOBS_KEEP_DAYS"])
    stmt = select(Job).where(or_(Job.state.not_in(FINAL_STATES), Job.created_at >= since))
    if person_id is not None:
        stmt = stmt.where(Job.started_by_id == person_id)
    else:
        stmt = stmt.options(selectinload(Job.started_by))  # admins' list names who started each job
    return list(db.session.scalars(stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(LISTED)))


def seconds_left(done: int, total: int, started_at: datetime | None, now: datetime) -> int | None:
    """An estimate of the seconds a running job still needs, from its pace so far (None: too early to say)."""
    if not started_at or done <= 0 or total <= done:
        return None
    elapsed = (as_utc(now) - as_utc(started_at)).total_seconds()
    if elapsed <= 0:
        return None
    return round((total - done) * elapsed / done)


def percent(done: int, total: int) -> int:
    """How far, in whole percent (0 while the total is unknown)."""
    return min(100, done * 100 // total) if total else 0
