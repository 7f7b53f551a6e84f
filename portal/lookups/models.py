"""Look-up requests (照会依頼): a person without access asks an authorised colleague to check data.

The request row carries the current state (it moves: approved, taken, answered...); every step is
also written to lookup_events, which is append-only: database triggers (migration 0007) refuse
UPDATE and DELETE, so the history of who approved, took and answered stays checkable.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.access.models import ProtectedSystem
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Department, Person

LOOKUP_STATUSES = ("awaiting_approval", "refused", "awaiting_handler", "in_progress", "answered", "withdrawn",
                   "expired")
LOOKUP_EVENT_KINDS = ("requested", "approved", "refused", "taken", "answered", "withdrawn", "expired")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class LookupRequest(db.Model):
    """One look-up request: purpose, question, approval, handling and the answer given."""

    __tablename__ = "lookup_requests"
    __table_args__ = (
        CheckConstraint(_in("status", LOOKUP_STATUSES), name="status_known"),
        # Nobody approves or handles their own request, enforced by the database as well.
        CheckConstraint("approver_id IS NULL OR approver_id <> requester_id", name="not_own_approval"),
        CheckConstraint("handler_id IS NULL OR handler_id <> requester_id", name="not_own_handling"),
        CheckConstraint("handler_id IS NULL OR approver_id IS NULL OR handler_id <> approver_id",
                        name="approver_not_handler"),
        Index("ix_lookup_requests_system_id_status", "system_id", "status"),
        Index("ix_lookup_requests_department_id_requested_at", "department_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("protected_systems.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: The requester's department when they asked (statistics count it there even if they move).
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    #: One of the system's purposes of use, as chosen (kept even if the list changes later).
    purpose: Mapped[str] = mapped_column(String(200))
    explanation: Mapped[str] = mapped_column(Text)
    #: What should be checked, without personal data.
    question: Mapped[str] = mapped_column(Text)
    #: A customer reference or order number (never a name, phone number or address).
    reference: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(24), default="awaiting_approval")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: Not approved, or not taken, by this moment: the request expires.
    expires_at: Mapped[datetime]
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    taken_at: Mapped[datetime | None]
    #: What the handler checked (which system, which screen or item) — not the data itself.
    checked: Mapped[str] = mapped_column(Text, default="")
    #: The answer given to the requester — not the customer data itself.
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    system: Mapped[ProtectedSystem] = relationship(lazy="joined")
    requester: Mapped[Person] = relationship(foreign_keys=[requester_id], lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    approver: Mapped[Person | None] = relationship(foreign_keys=[approver_id])
    handler: Mapped[Person | None] = relationship(foreign_keys=[handler_id])


class LookupEvent(db.Model):
    """One step in the life of a look-up request; only ever added, never changed or deleted."""

    __tablename__ = "lookup_events"
    __table_args__ = (CheckConstraint(_in("kind", LOOKUP_EVENT_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("lookup_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status_after: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: None when the portal itself acted (expiry).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    #: The reason, or for an answer what was checked and the answer given.
    note: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[Person | None] = relationship(lazy="joined")
