"""Jobs run by the queue's consumers: one row per job, its parts (the units consumers claim), and
the daily schedule's runs. Every instance reads the same rows, so any of them shows progress."""
from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.timeutil import utcnow
from portal.extensions import db

if TYPE_CHECKING:
    from portal.org.models import Person

JOB_STATES = ("queued", "running", "done", "failed", "cancelled", "expired")
#: States a job never leaves.
FINAL_STATES = ("done", "failed", "cancelled", "expired")
PART_STATES = ("queued", "running", "done")
#: A job's parts run stage by stage: one plan part, the work parts it made, one finish part.
PLAN, WORK, FINISH = 0, 1, 2


class Job(db.Model):
    """Long work a person (or the CLI) started: what, by whom, how far, and the file it made."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed', 'cancelled', 'expired')",
                        name="state_known"),
        CheckConstraint("done >= 0 AND total >= 0", name="counts_not_negative"),
        Index("ix_jobs_started_by_created", "started_by_id", "created_at"),
        Index("ix_jobs_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the job does (a registered kind, e.g. certificates.zip).
    kind: Mapped[str] = mapped_column(String(40))
    #: Who started it; None for the command line and the schedule.
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    #: The kind's parameters as JSON (department, filters, format).
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    #: Units done out of total (certificates, rows); total is known once the job is planned.
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: Last sign of life from a consumer working on it.
    heartbeat_at: Mapped[datetime | None]
    #: When a consumer last arranged to look at the job again (so only one arranges it at a time).
    follow_up_at: Mapped[datetime | None]
    #: The result, relative to PORTAL_FILES_DIR, and the name it downloads as.
    result_path: Mapped[str] = mapped_column(String(300), default="")
    result_name: Mapped[str] = mapped_column(String(200), default="")
    result_size: Mapped[int | None] = mapped_column(BigInteger)
    #: Why it failed, in words for the person who started it (details go to the consumer's log).
    error: Mapped[str] = mapped_column(Text, default="")
    #: When the result file is deleted (finished_at + PORTAL_JOBS_KEEP_DAYS).
    expires_at: Mapped[datetime | None]

    parts: Mapped[list["JobPart"]] = relationship(back_populates="job", cascade="all, delete-orphan",
                                                  order_by="(JobPart.stage, JobPart.number)")
    started_by: Mapped["Person | None"] = relationship("Person")

    @property
    def params(self) -> dict:
        """The parameters, decoded."""
        return json.loads(self.params_json or "{}")


class JobPart(db.Model):
    """A unit of a job that one consumer claims with a lease and keeps alive with heartbeats.

    A part whose heartbeat is older than the lease belongs to a consumer that died: another
    consumer takes it over (attempts counts the claims) and does it again from its start.
    """

    __tablename__ = "job_parts"
    __table_args__ = (
        UniqueConstraint("job_id", "stage", "number"),
        CheckConstraint("state IN ('queued', 'running', 'done')", name="state_known"),
        CheckConstraint("stage IN (0, 1, 2)", name="stage_known"),
        CheckConstraint("(state = 'running') = (lease IS NOT NULL)", name="lease_while_running"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    #: 0 plan, 1 work, 2 finish: a stage starts when every part of the stages before it is done.
    stage: Mapped[int]
    number: Mapped[int] = mapped_column(default=0)
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    #: The claim of the consumer working on it (None unless running).
    lease: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)

    job: Mapped[Job] = relationship(back_populates="parts")

    @property
    def params(self) -> dict:
        """The parameters, decoded."""
        return json.loads(self.params_json or "{}")


class ScheduleRun(db.Model):
    """One run of a daily task for one slot (its JST day): the unique key makes it happen once,
    whichever consumer gets there first; a run whose consumer died is taken over like a part."""

    __tablename__ = "schedule_runs"
    __table_args__ = (
        UniqueConstraint("name", "slot"),
        CheckConstraint("state IN ('running', 'done', 'failed')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    #: The slot it runs for, e.g. 2026-04-01 (the JST day).
    slot: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(16), default="running")
    lease: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: What it did, or why it failed.
    summary: Mapped[str] = mapped_column(Text, default="")
