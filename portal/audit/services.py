"""Writing audit events, in the same transaction as the change they record."""
from __future__ import annotations

import json
from typing import Any

from flask import g, has_app_context
from sqlalchemy import select, text

from portal.audit.chain import GENESIS_HASH, event_hash
from portal.audit.models import AuditEvent
from portal.core.timeutil import utcnow
from portal.extensions import db

# Any constant; serialises appenders on PostgreSQL so the chain never races.
_PG_AUDIT_LOCK = 7243001


def current_source() -> str:
    """Where the action came from: the client address set per request, else "cli"."""
    if has_app_context():
        return g.get("audit_source", "cli")
    return "cli"


def record_event(
    actor,
    action: str,
    *,
    object_type: str = "",
    object_id: str | int = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain; flushes, never commits (the caller's transaction)."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    details_clean = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
    event = AuditEvent(
        seq=seq,
        occurred_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "employee_no", "") or "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason or "",
        details_json=json.dumps(details_clean, sort_keys=True, ensure_ascii=False),
        source=current_source(),
        prev_hash=prev_hash,
    )
    # Round to what every backend stores (microseconds) before hashing.
    event.hash = event_hash(event.chain_fields())
    session.add(event)
    session.flush()
    return event
