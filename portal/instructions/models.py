"""Corrective instructions (是正指示): the immutable instruction, its frozen recipients,
attachments, acknowledgements and reminders. Every table here is append-only: database
triggers (migration 0004) refuse UPDATE and DELETE, so what was instructed, to whom and
who acknowledged it can be confirmed months later exactly as it was."""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Department, Person

#: Types an attachment may have, detected from its first bytes (never from its name).
ATTACHMENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp")


class Instruction(db.Model):
    """One corrective instruction as issued. Never changes; a correction is a new row."""

    __tablename__ = "instructions"
    __table_args__ = (CheckConstraint("length(title) > 0", name="title_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    #: The Markdown exactly as the issuer wrote it.
    body_md: Mapped[str] = mapped_column(Text)
    #: Safe HTML rendered once at issue (what recipients were shown).
    body_html: Mapped[str] = mapped_column(Text)
    #: The improper conduct or incident this instruction answers.
    reason: Mapped[str] = mapped_column(Text)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: Recipients acknowledge by the end of this day, Japan time.
    acknowledge_by: Mapped[date]
    #: The instruction this one corrects; at most one correction per instruction (a chain).
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("instructions.id"), unique=True)
    #: {"departments": [codes], "people": [employee_nos]} as the issuer chose them.
    recipient_spec_json: Mapped[str] = mapped_column(Text)
    #: sha256 over the canonical content (title, body, reason, deadline, recipients, attachments).
    content_hash: Mapped[str] = mapped_column(String(64))

    issuer: Mapped[Person] = relationship(lazy="joined")
    corrects: Mapped[Instruction | None] = relationship(remote_side=[id], lazy="raise")

    @property
    def recipient_spec(self) -> dict:
        """The departments and named people the issuer chose."""
        return json.loads(self.recipient_spec_json)


class InstructionRecipient(db.Model):
    """A person the instruction was addressed to, frozen at issue with their department then."""

    __tablename__ = "instruction_recipients"

    instruction_id: Mapped[int] = mapped_column(ForeignKey("instructions.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    #: The person's department when the instruction was issued (they may move later).
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)

    person: Mapped[Person] = relationship(lazy="raise")
    department: Mapped[Department] = relationship(lazy="raise")


class InstructionAcknowledgement(db.Model):
    """A recipient's confirmation that they read the instruction (one per person and instruction)."""

    __tablename__ = "instruction_acknowledgements"
    __table_args__ = (
        UniqueConstraint("instruction_id", "person_id"),
        # Only a recipient can acknowledge: the pair must be a recipient row.
        ForeignKeyConstraint(["instruction_id", "person_id"],
                             ["instruction_recipients.instruction_id", "instruction_recipients.person_id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instruction_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Client address and browser, as evidence of where the acknowledgement came from.
    client: Mapped[str] = mapped_column(String(300), default="")


class InstructionReminder(db.Model):
    """One reminder sent to one recipient who had not acknowledged yet."""

    __tablename__ = "instruction_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    instruction_id: Mapped[int] = mapped_column(ForeignKey("instructions.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    reminded_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    reminded_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstructionAttachment(db.Model):
    """A PDF or image attached at issue, stored in the database with its hash."""

    __tablename__ = "instruction_attachments"
    __table_args__ = (
        UniqueConstraint("instruction_id", "position"),
        CheckConstraint("size_bytes > 0", name="not_empty"),
        CheckConstraint(
            "content_type IN ('application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp')",
            name="content_type_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instruction_id: Mapped[int] = mapped_column(ForeignKey("instructions.id"), index=True)
    #: 1, 2, 3… in the order the issuer attached them.
    position: Mapped[int] = mapped_column(Integer)
    #: The original name, cleaned for display and download (no paths or control characters).
    filename: Mapped[str] = mapped_column(String(200))
    #: Detected from the file's first bytes.
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    #: Loaded only when the file itself is downloaded.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
