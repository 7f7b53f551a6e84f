"""Organisation-wide completion figures, computed in one pass and kept for fast pages.

Counting 50,000 people × 50 manuals takes seconds, far more than a page may take, so the
organisation heat map reads CompletionCell (the latest pass) and the trend reads
CompletionSnapshot (one row per day and department). Both are written together by
dashboards.services.refresh_completion, which `portal dashboards snapshot` and
`portal reminders send` (daily cron) run, and which admins can start from the heat map.
Department pages do not use them: they count live, one department at a time.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db


class CompletionCell(db.Model):
    """Department × manual: how many active people are in each training status (latest pass)."""

    __tablename__ = "completion_cells"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id", ondelete="CASCADE"), primary_key=True)
    current: Mapped[int] = mapped_column(Integer, default=0)
    due: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[int] = mapped_column(Integer, default=0)
    not_started: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    expired: Mapped[int] = mapped_column(Integer, default=0)
    #: When the pass that wrote this row ran (every row of a pass has the same moment).
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The JST day whose rules the statuses were decided by.
    as_of: Mapped[date]

    @property
    def assigned(self) -> int:
        """People assigned the manual in the department."""
        return self.current + self.due + self.in_progress + self.not_started + self.overdue + self.expired


class CompletionSnapshot(db.Model):
    """Per JST day × department: assigned person × manual pairs, and how many were current.

    A second pass on the same day replaces that day's rows. Past statuses cannot be
    recomputed later (editions, validity and assignments change), so history is kept.
    """

    __tablename__ = "completion_snapshots"
    __table_args__ = (
        CheckConstraint("current_pairs <= assigned_pairs", name="current_within_assigned"),
        CheckConstraint("overdue_pairs <= assigned_pairs", name="overdue_within_assigned"),
    )

    #: The Japanese calendar day the figures describe.
    day: Mapped[date] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True)
    #: Active people × manuals assigned to them.
    assigned_pairs: Mapped[int] = mapped_column(Integer)
    current_pairs: Mapped[int] = mapped_column(Integer)
    #: Overdue or expired pairs.
    overdue_pairs: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
