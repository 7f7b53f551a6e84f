"""The standing controls' own records: transfers awaiting the new manager, cap excesses, coverage snapshots."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.access.models import AccessGrant
from portal.extensions import db
from portal.org.models import Department, Person

TRANSFER_OUTCOMES = ("pending", "approved", "refused", "superseded")


class TransferConfirmation(db.Model):
    """A holder moved to another department: their grant is suspended until its manager approves it again."""

    __tablename__ = "access_transfer_confirmations"
    __table_args__ = (
        CheckConstraint("outcome IN ('pending', 'approved', 'refused', 'superseded')", name="outcome_known"),
        Index("ix_access_transfer_confirmations_outcome_to_department_id", "outcome", "to_department_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("access_grants.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    from_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    to_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    moved_at: Mapped[datetime]
    #: pending, approved (the grant may come back in force), refused (revoked) or superseded (moved again).
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")

    grant: Mapped[AccessGrant] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    from_department: Mapped[Department | None] = relationship(foreign_keys=[from_department_id], lazy="joined")
    to_department: Mapped[Department] = relationship(foreign_keys=[to_department_id], lazy="joined")


class CapExcess(db.Model):
    """A department over its cap that no override explains (HR changes shrank it); open until back within."""

    __tablename__ = "access_cap_excesses"
    __table_args__ = (
        # One open excess per department and system: its one message was sent when it opened.
        Index("uq_access_cap_excesses_open", "system_id", "department_id", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("protected_systems.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    #: The figures when it was found: headcount, the cap's limit, holders in force, of them by override.
    headcount: Mapped[int] = mapped_column(Integer)
    cap_limit: Mapped[int] = mapped_column(Integer)
    in_force: Mapped[int] = mapped_column(Integer)
    overridden: Mapped[int] = mapped_column(Integer)
    excess: Mapped[int] = mapped_column(Integer)

    department: Mapped[Department] = relationship(lazy="joined")


class CoverageSnapshot(db.Model):
    """One department's coverage of one system at the end of a Japan-time day, kept (append-only)."""

    __tablename__ = "access_coverage_snapshots"

    day: Mapped[date] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("protected_systems.id"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    headcount: Mapped[int] = mapped_column(Integer)
    in_force: Mapped[int] = mapped_column(Integer)
    suspended: Mapped[int] = mapped_column(Integer)
    waiting: Mapped[int] = mapped_column(Integer)
    cap_limit: Mapped[int | None] = mapped_column(Integer)
    taken_at: Mapped[datetime]
