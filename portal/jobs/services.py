"""State changes of jobs made by people: creating one (for a feature's start service), cancelling,
downloading the result. They flush and never commit; views and the CLI commit at the edge."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, update

from portal.audit.services import record_event
from portal.core.i18n import current_locale
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.jobs.kinds import kind_named
from portal.jobs.models import FINAL_STATES, PLAN, Job, JobPart
from portal.jobs.queue import enqueue
from portal.org.models import Person


def create_job(actor: Person | None, kind: str, params: dict) -> Job:
    """A queued job with its plan part (the caller writes the audit event of what it starts); flushes.

    After the commit, announce_job() puts it on the queue.
    """
    kind_named(kind)  # an unknown kind fails here, in the request, not later in a consumer
    params = {"locale": current_locale(), **params}  # the file is written in the starter's language
    job = Job(kind=kind, started_by_id=getattr(actor, "id", None), params_json=json.dumps(params, sort_keys=True),
              state="queued", created_at=utcnow(), done=0, total=0, result_path="", result_name="", error="")
    job.parts = [JobPart(stage=PLAN, number=0, state="queued", params_json="{}", attempts=0, done=0, total=0)]
    db.session.add(job)
    db.session.flush()
    return job


def announce_job(job_id: int) -> None:
    """Tell the consumers (after the commit): one of them plans the job, then others help."""
    enqueue("jobs.run", job_id)


def may_see(viewer: Person, job: Job) -> bool:
    """The person who started a job sees it (and downloads its result); so do admins."""
    return job.started_by_id == viewer.id or viewer.has_role("admin")


def cancel_job(actor: Person, job: Job) -> None:
    """Stop a queued or running job; consumers notice at their next heartbeat and delete its files."""
    if job.state in FINAL_STATES:
        raise Refusal("already_finished")
    stoppable = ("queued", "running") if kind_named(job.kind).cancellable_while_running else ("queued",)
    if job.state not in stoppable:
        raise Refusal("already_started")
    cancelled = db.session.execute(
        update(Job).where(Job.id == job.id, Job.state.in_(stoppable))
        .values(state="cancelled", finished_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if cancelled != 1:
        now_state = db.session.scalar(select(Job.state).where(Job.id == job.id))  # it moved a moment ago
        raise Refusal("already_started" if now_state == "running" else "already_finished")
    record_event(actor, "job.cancelled", object_type="job", object_id=job.id,
                 details={"kind": job.kind, "done": job.done, "total": job.total})


def result_file(job: Job, files_dir: Path) -> Path:
    """The job's result on disk, or Refusal (not_ready, expired)."""
    if job.state == "expired" or (job.state == "done" and job.expires_at and job.expires_at <= utcnow()):
        raise Refusal("expired")
    if job.state != "done" or not job.result_path:
        raise Refusal("not_ready")
    path = (files_dir / job.result_path).resolve()
    if files_dir.resolve() not in path.parents or not path.is_file():
        raise Refusal("expired")
    return path


def record_download(actor: Person, job: Job) -> None:
    """Every download of a job's result is audited (the file leaves the portal)."""
    record_event(actor, "job.downloaded", object_type="job", object_id=job.id,
                 details={"kind": job.kind, "file": job.result_name, "bytes": job.result_size,
                          "started_by": job.started_by_id})
