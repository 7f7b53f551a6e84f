"""The web HR import's apply as a job: the request checks the file and the plan and answers at once;
a consumer applies the plan, in ONE transaction, exactly as it was previewed.

Why one part in one transaction, not idempotent chunks: an HR file is one decision (joiners, moves,
leavers and role changes belong together, and the audit trail says "this file was imported"), the
old apply was all-or-nothing, and the engine already makes one part happen once: the part is marked
done in the transaction that applies the rows, and only while its claim still holds. A consumer
killed mid-apply leaves nothing (its transaction dies with it); the consumer that takes the part
over applies the whole file from the start. Before applying, the job recomputes the plan under the
organisation lock and applies it only if it is still the one the admin saw (its digest); otherwise
it fails with words saying so, and nothing changes. That also makes a second job for the same file
fail instead of importing twice.

Keeping the claim alive while the transaction runs: the engine's heartbeat commits, which would
commit half an import. On PostgreSQL the heartbeat and the progress are written through a second
connection (they touch only the job's rows, which the apply does not hold). SQLite has one writer:
the apply's first statement takes the write lock (checking the claim), so no other consumer can
take the part over until the apply commits or dies; the bar moves when the apply ends.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select, text, update

from portal.audit.services import record_event
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.jobs.engine import HEARTBEAT_SECONDS, JobCancelled, LeaseLost, job_dir
from portal.jobs.kinds import JobError, JobKind, PartPlan
from portal.jobs.models import Job, JobPart
from portal.jobs.services import announce_job, create_job
from portal.org.hr_csv import UndecodableFile, decode, parse_hr_csv
from portal.org.import_runner import ImportAlreadyRunning, ImportRunner
from portal.org.messages import COUNT_LABELS
from portal.org.models import Person
from portal.org.services import RoleChangeRefused, apply_sync, known_department_codes, lock_organisation, plan_sync

KIND = "org.import"
#: The previewed file, copied into the job's folder (PORTAL_FILES_DIR is shared by every host).
CSV_NAME = "hr-upload.csv"
# Serialises the requests that start an import on PostgreSQL (held for one short transaction).
_PG_START_LOCK = 7243003


def start_import_apply(actor: Person, pending) -> int:
    """Queue the apply of an upload's previewed plan (the file's bytes go with it); audited; flushes.

    Raises ImportAlreadyRunning while another web import waits or runs: the second admin is told
    at once, and nothing is queued.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_START_LOCK})
    counts = pending.counts
    job = create_job(actor, KIND, {"file": pending.filename, "sha256": pending.sha256, "encoding": pending.encoding,
                                   "deactivate_missing": pending.deactivate_missing, "digest": pending.digest,
                                   "counts": counts})
    # Checked after the insert: on SQLite the insert holds the write lock, so two starts cannot both pass.
    other = db.session.scalar(select(Job.id).where(Job.kind == KIND, Job.id != job.id,
                                                   Job.state.in_(("queued", "running"))).limit(1))
    if other is not None:
        raise ImportAlreadyRunning(other)
    folder = job_dir(job.id)
    folder.mkdir(parents=True, exist_ok=True)
    _write_private(folder / CSV_NAME, pending.raw)
    record_event(actor, "org.import_started", object_type="job", object_id=job.id,
                 details={"file": pending.filename, "sha256": pending.sha256, **counts})
    return job.id


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


class ApplyProgress:
    """The apply's progress and heartbeat, written beside its transaction (PostgreSQL) or not at all."""

    def __init__(self, job_id: int, part_id: int, lease: str, beside: bool) -> None:
        self.job_id, self.part_id, self.lease, self.beside = job_id, part_id, lease, beside
        self._last = 0.0

    def __call__(self, done: int) -> None:
        """`done` of the plan's changes are written; beats at most every HEARTBEAT_SECONDS."""
        if self.beside and time.monotonic() - self._last >= HEARTBEAT_SECONDS:
            self.beat(done)

    def beat(self, done: int) -> None:
        """Write heartbeat and progress through a connection of their own; LeaseLost if the claim is gone."""
        now = utcnow()
        with db.engine.begin() as connection:
            held = connection.execute(
                update(JobPart).where(JobPart.id == self.part_id, JobPart.lease == self.lease,
                                      JobPart.state == "running").values(heartbeat_at=now, done=done)).rowcount
            if held == 1:
                connection.execute(update(Job).where(Job.id == self.job_id).values(done=done, heartbeat_at=now))
        self._last = time.monotonic()
        if held != 1:
            db.session.rollback()
            raise LeaseLost(self.part_id)


def _hold(job: Job, part: JobPart, lease: str) -> ApplyProgress:
    """Take the organisation (PostgreSQL: its lock; SQLite: the write lock) and check the claim still holds."""
    db.session.commit()  # nothing is written yet: the apply starts a transaction of its own
    if db.session.get_bind().dialect.name == "postgresql":
        progress = ApplyProgress(job.id, part.id, lease, beside=True)
        progress.beat(0)
        lock_organisation()
        return progress
    held = db.session.execute(update(JobPart).where(JobPart.id == part.id, JobPart.lease == lease,
                                                    JobPart.state == "running").values(heartbeat_at=utcnow())
                              .execution_options(synchronize_session=False)).rowcount
    if held != 1:
        db.session.rollback()
        raise LeaseLost(part.id)
    return ApplyProgress(job.id, part.id, lease, beside=False)


def _plan(job: Job, progress) -> list[PartPlan]:
    return [PartPlan({}, max(1, sum(job.params["counts"].values())))]


def _work(job: Job, part: JobPart, progress, folder: Path) -> None:
    """Apply the previewed plan if it still is the plan, in the transaction that marks the part done."""
    job_id, params = job.id, job.params
    beat = _hold(job, part, progress.lease)
    job = db.session.get(Job, job_id)
    if job.state != "running":  # cancelled while it waited (once running, it cannot be cancelled)
        db.session.rollback()
        raise JobCancelled(job_id)
    try:
        raw = (folder / CSV_NAME).read_bytes()
    except OSError:
        raise JobError("file_missing") from None
    if hashlib.sha256(raw).hexdigest() != params["sha256"]:
        raise JobError("file_missing")
    try:
        rows, errors = parse_hr_csv(decode(raw, params["encoding"]), known_department_codes())
    except UndecodableFile:
        raise JobError("file_missing") from None
    plan = None if errors else plan_sync(rows, deactivate_missing=params["deactivate_missing"])
    if plan is None or plan.digest() != params["digest"]:
        raise JobError("changed_meanwhile")
    actor = db.session.get(Person, job.started_by_id) if job.started_by_id else None
    try:
        apply_sync(actor, plan, params["file"], progress=beat, details={
            "sha256": params["sha256"], "encoding": params["encoding"],
            "deactivate_missing": params["deactivate_missing"], "job": job_id})
    except RoleChangeRefused:
        raise JobError("own_roles") from None


def _finish(job: Job, progress, folder: Path):
    """The rows are in: the copy of the file (personal data) goes at once, not after 7 days."""
    (folder / CSV_NAME).unlink(missing_ok=True)
    return None


def import_summary(job: Job) -> str:
    """What the import changed, as the old page said it (counts by kind)."""
    counts = job.params.get("counts", {})
    summary = "、".join(f"{label} {counts[name]}" for name, label in COUNT_LABELS.items() if counts.get(name))
    return _("%(file)s was imported: %(summary)s.", file=job.params.get("file", ""), summary=summary)


ORG_IMPORT = JobKind(
    name=KIND, label=_l("HR import"), plan=_plan, work=_work, finish=_finish, summary=import_summary,
    cancellable_while_running=False,
    messages={
        "changed_meanwhile": _l("The organisation changed after your preview (another import or a role change came "
                                "first), so nothing was imported. Upload the file again to see a new preview."),
        "own_roles": _l("You cannot change your own roles. Ask another administrator."),
        "file_missing": _l("The uploaded file could not be read any more, so nothing was imported. Upload it "
                           "again."),
    },
)

#: What the web import's apply view calls (portal.wiring registers it with org).
RUNNER = ImportRunner(start=start_import_apply, announce=announce_job)
