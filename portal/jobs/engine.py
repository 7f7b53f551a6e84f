"""Running jobs in the consumers: claim a part, keep its lease alive, finish it, go on.

A job is cut into parts: one plan part, the work parts the plan makes, one finish part; a stage
starts when the stage before it is done. A consumer claims a part with a conditional UPDATE
(queued, or running under a lease whose heartbeat is older than PORTAL_JOBS_LEASE_SECONDS), so
of two consumers one wins; the winner beats its heartbeat at least every HEARTBEAT_SECONDS while
it works and marks the part done only while it still holds the lease, in the same transaction
as what the part wrote to the database. A consumer killed mid-part leaves a part whose heartbeat
goes stale: the next consumer to look takes it over and does it again from its start (parts are
small and write their files under a temporary name, renamed when complete).

Several `jobs.run` tasks for one job are harmless: each claims parts until none is left, so
consumers share a job's work parts, and a task with nothing to claim returns.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import and_, exists, func, insert, or_, select, update

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.jobs.kinds import JobKind, PartPlan, kind_named
from portal.jobs.models import FINAL_STATES, FINISH, PLAN, WORK, Job, JobPart
from portal.jobs.notify import queue_finished_mail
from portal.jobs.queue import enqueue

log = logging.getLogger(__name__)

#: A working consumer writes its progress (and proves it is alive) at least this often.
HEARTBEAT_SECONDS = 1.0
#: A part claimed this many times without finishing fails its job (it kills its consumers).
MAX_ATTEMPTS = 3
#: At most this many `jobs.run` tasks are queued for one job: one per consumer that may help.
FAN_OUT = 8


class LeaseLost(Exception):
    """Another consumer took the part over (this one was silent too long)."""


class JobCancelled(Exception):
    """The job was cancelled (or failed) while this consumer worked on it."""


def new_lease() -> str:
    """A token naming one claim."""
    return uuid.uuid4().hex


def lease_duration() -> timedelta:
    """How long a claim lives without a heartbeat."""
    return timedelta(seconds=current_app.config["PORTAL_JOBS_LEASE_SECONDS"])


def files_dir() -> Path:
    """Where job results live (PORTAL_FILES_DIR; a shared volume when consumers run on several hosts)."""
    return Path(current_app.config["PORTAL_FILES_DIR"])


def job_dir(job_id: int) -> Path:
    """The folder of one job's part files and result."""
    return files_dir() / "jobs" / str(job_id)


@dataclass
class Progress:
    """Handed to a kind's plan/work/finish: reports units done, beats the heartbeat, notices a cancel."""

    job_id: int
    part_id: int
    lease: str
    done: int = 0
    _last: float = field(default_factory=time.monotonic)

    def __call__(self, done: int) -> None:
        """`done` units of this part are done; writes (and checks) at most every HEARTBEAT_SECONDS."""
        self.done = done
        if time.monotonic() - self._last >= HEARTBEAT_SECONDS:
            self.beat()

    def beat(self) -> None:
        """Write the heartbeat and progress now; raise LeaseLost or JobCancelled when the work must stop."""
        now = utcnow()
        claimed = db.session.execute(
            update(JobPart).where(JobPart.id == self.part_id, JobPart.lease == self.lease, JobPart.state == "running")
            .values(heartbeat_at=now, done=self.done).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            db.session.rollback()
            raise LeaseLost(self.part_id)
        _recount(self.job_id, now)
        state = db.session.scalar(select(Job.state).where(Job.id == self.job_id))
        db.session.commit()
        self._last = time.monotonic()
        if state in FINAL_STATES:
            raise JobCancelled(self.job_id)


def _recount(job_id: int, now: datetime) -> None:
    """The job's done is the sum of its work parts' (a part done again after a takeover counts once)."""
    done = (select(func.coalesce(func.sum(JobPart.done), 0)).where(JobPart.job_id == job_id, JobPart.stage == WORK)
            .scalar_subquery())
    db.session.execute(update(Job).where(Job.id == job_id).values(done=done, heartbeat_at=now)
                       .execution_options(synchronize_session=False))


def _claimable(stale: datetime):
    return or_(JobPart.state == "queued", and_(JobPart.state == "running", JobPart.heartbeat_at < stale))


def claim_next_part(job_id: int, lease: str, now: datetime) -> JobPart | None:
    """Claim the job's next part that nobody holds (or whose holder went silent), or None; commits."""
    stale = now - lease_duration()
    state = db.session.scalar(select(Job.state).where(Job.id == job_id))
    if state is None or state in FINAL_STATES:
        return None
    stage = db.session.scalar(select(func.min(JobPart.stage)).where(JobPart.job_id == job_id, JobPart.state != "done"))
    if stage is None:
        return None
    candidates = db.session.scalars(select(JobPart.id).where(JobPart.job_id == job_id, JobPart.stage == stage,
                                                             _claimable(stale)).order_by(JobPart.number).limit(20)).all()
    for part_id in candidates:
        won = db.session.execute(
            update(JobPart).where(JobPart.id == part_id, _claimable(stale))
            .values(state="running", lease=lease, heartbeat_at=now, attempts=JobPart.attempts + 1, done=0)
            .execution_options(synchronize_session=False)).rowcount
        if won != 1:
            continue
        db.session.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                           .values(state="running", started_at=now).execution_options(synchronize_session=False))
        _recount(job_id, now)
        db.session.commit()
        part = db.session.get(JobPart, part_id, populate_existing=True)
        if part.attempts > MAX_ATTEMPTS:
            fail_job(job_id, "stopped", f"part {part.stage}.{part.number} was interrupted {MAX_ATTEMPTS} times")
            db.session.commit()
            return None
        return part
    db.session.rollback()
    return None


def _complete_part(part_id: int, lease: str, done: int) -> None:
    """Mark the part done if this claim still holds it (else LeaseLost: the takeover's result counts)."""
    completed = db.session.execute(
        update(JobPart).where(JobPart.id == part_id, JobPart.lease == lease, JobPart.state == "running")
        .values(state="done", lease=None, done=done).execution_options(synchronize_session=False)).rowcount
    if completed != 1:
        db.session.rollback()
        raise LeaseLost(part_id)


def fail_job(job_id: int, code: str, detail: str = "") -> bool:
    """An unfinished job failed: `code` is what the person is told (a kind's message key); flushes."""
    now = utcnow()
    failed = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state.in_(("queued", "running")))
        .values(state="failed", error=code, finished_at=now).execution_options(synchronize_session=False)).rowcount
    if failed:
        log.error("job %s failed: %s %s", job_id, code, detail)
        queue_finished_mail(job_id, now)
    return bool(failed)


def _insert_parts(job: Job, plans: list[PartPlan]) -> None:
    rows = [{"job_id": job.id, "stage": WORK, "number": number, "params_json": json.dumps(plan.params),
             "total": plan.total, "state": "queued", "attempts": 0, "done": 0}
            for number, plan in enumerate(plans, start=1)]
    rows.append({"job_id": job.id, "stage": FINISH, "number": 0, "params_json": "{}", "total": 0,
                 "state": "queued", "attempts": 0, "done": 0})
    db.session.execute(insert(JobPart), rows)


def _execute(kind: JobKind, job: Job, part: JobPart, lease: str) -> int:
    """Do one claimed part; returns how many more `jobs.run` tasks would help (after a plan)."""
    progress = Progress(job.id, part.id, lease)
    workdir = job_dir(job.id)  # created by the kinds that write files
    helpers = 0
    if part.stage == PLAN:
        plans = kind.plan(job, progress)
        _insert_parts(job, plans)
        db.session.execute(update(Job).where(Job.id == job.id).values(total=sum(p.total for p in plans))
                           .execution_options(synchronize_session=False))
        helpers = min(len(plans), FAN_OUT) - 1
    elif part.stage == WORK:
        kind.work(job, part, progress, workdir)
        progress.done = part.total
    else:
        result = kind.finish(job, progress, workdir)
        _store_result(job.id, result)
    _complete_part(part.id, lease, progress.done)
    _recount(job.id, utcnow())
    db.session.commit()
    return helpers


def _store_result(job_id: int, result) -> None:
    """The job is done: its file (if any), and when that file goes; only a running job becomes done."""
    now = utcnow()
    values = {"state": "done", "finished_at": now,
              "expires_at": now + timedelta(days=current_app.config["PORTAL_JOBS_KEEP_DAYS"])}
    if result is not None:
        path = result.path
        values.update(result_path=str(path.relative_to(files_dir())), result_name=result.download_name,
                      result_size=path.stat().st_size)
    finished = db.session.execute(update(Job).where(Job.id == job_id, Job.state == "running").values(**values)
                                  .execution_options(synchronize_session=False)).rowcount
    if finished != 1:
        db.session.rollback()
        raise JobCancelled(job_id)
    queue_finished_mail(job_id, now)


def run_job(job_id: int) -> None:
    """The `jobs.run` task: work on the job's parts until none is left to claim."""
    while True:
        db.session.expire_all()
        part = claim_next_part(job_id, lease := new_lease(), utcnow())
        if part is None:
            break
        job = db.session.get(Job, job_id)
        try:
            with force_locale(job.params.get("locale") or "ja"):
                helpers = _execute(kind_named(job.kind), job, part, lease)
        except LeaseLost:
            log.warning("job %s: part %s was taken over by another consumer", job_id, part.id)
            continue
        except JobCancelled:
            db.session.rollback()
            remove_files(job_id)
            return
        except Exception as error:  # noqa: BLE001 - any failure of the kind's code fails the job, with a log
            db.session.rollback()
            log.exception("job %s failed in part %s.%s", job_id, part.stage, part.number)
            fail_job(job_id, getattr(error, "code", "error"), repr(error))
            db.session.commit()
            remove_files(job_id)
            return
        for _ in range(helpers):
            enqueue("jobs.run", job_id)
    _watch(job_id)


def _watch(job_id: int) -> None:
    """Parts still running elsewhere: look again after one lease, so a dead consumer's part is taken over;
    one task per job arranges the next look (a conditional UPDATE on follow_up_at)."""
    now = utcnow()
    open_parts = db.session.scalar(select(func.count()).select_from(JobPart).where(
        JobPart.job_id == job_id, JobPart.state != "done"))
    if not open_parts:
        db.session.rollback()
        return
    won = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state.in_(("queued", "running")),
                          or_(Job.follow_up_at.is_(None), Job.follow_up_at <= now))
        .values(follow_up_at=now + lease_duration()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if won:
        enqueue("jobs.run", job_id, delay=lease_duration().total_seconds() + 1)


def remove_files(job_id: int) -> None:
    """Delete a job's folder (a cancelled, failed or expired job keeps nothing)."""
    shutil.rmtree(job_dir(job_id), ignore_errors=True)


def _has_part(*where):
    return exists().where(JobPart.job_id == Job.id, *where)


def rescue_jobs(now: datetime) -> list[int]:
    """Unfinished jobs that need a consumer: one holds a part it stopped beating for (it died), or nobody
    works on a job whose last sign of life is a lease old (its queue message was lost)."""
    stale = now - lease_duration()
    dead_holder = _has_part(JobPart.state == "running", JobPart.heartbeat_at < stale)
    forgotten = and_(~_has_part(JobPart.state == "running"), _has_part(JobPart.state == "queued"),
                     func.coalesce(Job.heartbeat_at, Job.created_at) < stale)
    return list(db.session.scalars(select(Job.id).where(Job.state.in_(("queued", "running")),
                                                        or_(dead_holder, forgotten))))


def expire_results(now: datetime) -> int:
    """Results older than PORTAL_JOBS_KEEP_DAYS are deleted and their jobs marked expired; commits."""
    ids = list(db.session.scalars(select(Job.id).where(Job.state == "done", Job.expires_at < now)))
    for job_id in ids:
        db.session.execute(update(Job).where(Job.id == job_id, Job.state == "done").values(state="expired")
                           .execution_options(synchronize_session=False))
        db.session.commit()
        remove_files(job_id)
    return len(ids)
