"""The trend's history: one completion snapshot per JST day and department.

Every count the pages show now comes from the training-status engine's counts
(portal.training.status.status_counts); what cannot be counted again later is yesterday's
figures, so dashboards.services.refresh_completion keeps one row per day and department. It runs
from `portal dashboards snapshot`, `portal reminders send` (daily cron) and the heat map's button.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db


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
