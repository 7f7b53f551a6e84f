"""The reminder log: one row per reminder a person is owed, claimed by a run, then marked sent."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db

REMINDER_KINDS = ("due_soon", "overdue", "digest")
ORIGINS = ("scheduled", "manager")


class ReminderLog(db.Model):
    """A reminder for (person, kind, day[, manual]); the unique indexes make each one happen once.

    Rows are inserted (claimed) before anything is queued and marked sent_at in the transaction
    that puts their message in the mail outbox, so a crash never records a reminder as done
    when its message is not queued: an unqueued row is picked up by the next run of the same day.
    """

    __tablename__ = "reminder_log"
    __table_args__ = (
        Index("uq_reminder_log_per_manual", "person_id", "kind", "day", "manual_id", unique=True,
              sqlite_where=text("manual_id IS NOT NULL"), postgresql_where=text("manual_id IS NOT NULL")),
        Index("uq_reminder_log_per_person", "person_id", "kind", "day", unique=True,
              sqlite_where=text("manual_id IS NULL"), postgresql_where=text("manual_id IS NULL")),
        Index("ix_reminder_log_day_sent", "day", "sent_at"),
        CheckConstraint("kind IN ('due_soon', 'overdue', 'digest')", name="kind_known"),
        CheckConstraint("origin IN ('scheduled', 'manager')", name="origin_known"),
        CheckConstraint("(kind = 'digest') = (manual_id IS NULL)", name="manual_unless_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who receives it (the learner, or for a digest the manager).
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    #: due_soon, overdue, or digest (a manager's weekly list of overdue people).
    kind: Mapped[str] = mapped_column(String(16))
    #: The JST day it is for; for a digest the Monday of its ISO week.
    day: Mapped[date]
    #: The manual it is about; None for a digest.
    manual_id: Mapped[int | None] = mapped_column(ForeignKey("manuals.id", ondelete="CASCADE"))
    #: scheduled (`portal reminders send`) or manager (the dashboard's remind button).
    origin: Mapped[str] = mapped_column(String(16), default="scheduled")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The run currently sending it, and since when (a stale claim is taken over).
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    #: When its message went into the mail outbox (which sends and retries it); None until then.
    sent_at: Mapped[datetime | None]
