"""The audit trail (監査ログ): append-only, hash-chained events."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class AuditEvent(db.Model):
    """One privileged action. Never updated or deleted (a trigger refuses it)."""

    __tablename__ = "audit_events"

    #: 1, 2, 3… with no gaps; the chain's order.
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    #: Who acted; None for the system itself (CLI imports name the operator in details).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    #: employee_no of the actor at the time, kept even if the person changes.
    actor_label: Mapped[str] = mapped_column(String(60), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(80), default="", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: Canonical JSON of extra facts.
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    #: Client address, or "cli".
    source: Mapped[str] = mapped_column(String(80), default="")
    #: Unique: two events can never claim the same predecessor, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: How `hash` was made: 1 plain SHA-256 (events from before keyed hashes), 2 HMAC-SHA256 (chain.KEYED).
    hash_scheme: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    #: Fingerprint of the audit key a keyed hash was made with (portal/audit/keys.py); "" when unkeyed.
    key_id: Mapped[str] = mapped_column(String(16), default="", server_default="")

    @property
    def details(self) -> dict[str, Any]:
        """Extra facts as a dict."""
        return json.loads(self.details_json or "{}")

    def chain_fields(self) -> dict[str, Any]:
        """The fields the hash covers, in the form chain.event_hash expects."""
        return chain_fields_of(self)


def chain_fields_of(row) -> dict[str, Any]:
    """The hashed fields of an event or of a plain row of audit_events (same attribute names).

    A keyed event's hash also covers its scheme and key id; an unkeyed one's covers exactly the
    fields it was written with, so events from before keyed hashes still verify.
    """
    fields = {
        "seq": row.seq,
        "occurred_at": row.occurred_at,
        "actor_id": row.actor_id,
        "actor_label": row.actor_label,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "reason": row.reason,
        "details": json.loads(row.details_json or "{}"),
        "source": row.source,
        "prev_hash": row.prev_hash,
    }
    if (row.hash_scheme or 1) != 1:
        fields.update(hash_scheme=row.hash_scheme, key_id=row.key_id)
    return fields
