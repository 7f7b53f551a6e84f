"""The mail outbox: every e-mail the portal sends is a row here first, written in the same
transaction as the change it tells about, and sent later by a queue consumer."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db

MAIL_STATES = ("queued", "sending", "sent", "failed")


class OutboxMail(db.Model):
    """One message to one address; its key is unique, so the same message is never queued twice."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'sending', 'sent', 'failed')", name="state_known"),
        CheckConstraint("(state = 'sending') = (lease IS NOT NULL)", name="lease_while_sending"),
        Index("ix_mail_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What makes this message this message (e.g. access.request_decided:12:34); also its Message-ID.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    #: queued → sending (claimed by one consumer) → sent; failed after the last retry.
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    #: Not sent before this moment (retries back off).
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The claim of the consumer sending it, and since when (a claim older than the lease is taken over).
    lease: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the mail server accepted it.
    sent_at: Mapped[datetime | None]
    #: The mail server's last refusal or the connection error, for admins.
    last_error: Mapped[str] = mapped_column(Text, default="")
