"""Writing audit events, in the same transaction as the change they record."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app, g, has_app_context
from sqlalchemy import Table, event, select, text
from sqlalchemy.orm import Session

from portal.audit.anchors import anchor_line, append_anchor
from portal.audit.chain import GENESIS_HASH, KEYED, ChainReport, event_hash
from portal.audit.history import tables_unsealed_at_commit, take_seals, track_history_table
from portal.audit.keys import current_keyring
from portal.audit.models import AuditEvent
from portal.audit.queries import check_audit_trail
from portal.core.mail import OutgoingMail, render_mail
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.outbox.services import queue_mail

# Any constant; serialises appenders on PostgreSQL so the chain never races.
_PG_AUDIT_LOCK = 7243001
#: Column widths (PostgreSQL enforces them, SQLite does not: check here so both fail alike).
_LIMITS = {"action": 60, "object_type": 40, "object_id": 80, "actor_label": 60}


def current_source() -> str:
    """Where the action came from: the client address set per request, else "cli"."""
    if has_app_context():
        return g.get("audit_source", "cli")
    return "cli"


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; keep a visible mark instead of failing the whole change.
    return str(value).replace("\x00", "\ufffd")


def _take_chain_lock(session) -> None:
    """Make appenders queue for the chain's tail instead of racing for it."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    elif dialect == "sqlite":
        # A write that touches no row still takes SQLite's single writer lock (waiting up to
        # busy_timeout), so the tail read below cannot be stale. No row: the triggers stay quiet.
        session.execute(text("UPDATE audit_events SET seq = seq WHERE 0"))


def lock_chain() -> None:
    """Take the audit chain's lock now (held until the transaction ends), e.g. before another lock,
    so that every transaction takes its locks in the same order."""
    _take_chain_lock(db.session)


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
    values = {
        "action": _text(action),
        "object_type": _text(object_type),
        "object_id": _text(object_id),
        "actor_label": _text(getattr(actor, "employee_no", "") or ""),
    }
    for name, limit in _LIMITS.items():
        if len(values[name]) > limit:
            raise ValueError(f"audit {name} longer than {limit} characters: {values[name][:limit]!r}…")
    # Round-trip so what is hashed now is exactly what will be read back (str keys, plain types).
    details_clean = json.loads(json.dumps(details or {}, ensure_ascii=False, allow_nan=False, default=str))
    session = db.session
    _take_chain_lock(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    keys = current_keyring()
    seals = take_seals(session)  # history rows added since the last event (the query above flushed them)
    if seals:
        details_clean["history"] = seals
    event = AuditEvent(
        seq=seq,
        occurred_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        reason=_text(reason or ""),
        details_json=json.dumps(details_clean, sort_keys=True, ensure_ascii=False),
        source=_text(current_source())[:80],
        prev_hash=prev_hash,
        hash_scheme=KEYED,
        key_id=keys.current_id,
        **values,
    )
    event.hash = event_hash(event.chain_fields(), keys.keys)
    session.add(event)
    session.flush()
    return event


def register_history_table(table: Table, always_sealed: bool = True) -> None:
    """Seal the rows of this append-only table into the audit chain (idempotent; at app start-up).

    always_sealed: every row is written with an audit event (one is added at commit if needed), so
    a row in no seal was added outside the portal. Otherwise rows are sealed with the audit event
    that follows them in their transaction, when there is one (e.g. a person's history row by
    the HR import's event, not when a person is created one at a time without an event).
    """
    track_history_table(table, always_sealed)
    if not event.contains(Session, "before_commit", _record_unsealed_history):
        event.listen(Session, "before_commit", _record_unsealed_history)


def _record_unsealed_history(session: Session) -> None:
    tables = tables_unsealed_at_commit(session)
    if tables:
        record_event(None, "history.recorded", object_type="history", object_id=",".join(tables)[:80])


def record_export(actor, export_format: str, criteria: dict[str, Any], up_to_seq: int, rows: int) -> AuditEvent:
    """Exporting evidence is itself privileged: log who exported which part of the trail."""
    return record_event(
        actor,
        "audit.exported",
        object_type="audit_trail",
        object_id=export_format,
        details={"format": export_format, "filter": criteria, "up_to_seq": up_to_seq, "rows": rows},
    )


class AnchorRefused(RuntimeError):
    """The trail does not verify (or anchoring is off): no anchor may vouch for it."""

    def __init__(self, report: ChainReport | None) -> None:
        super().__init__(report.problem.reason if report and report.problem else "PORTAL_AUDIT_ANCHOR_DIR is not set")
        self.report = report


@dataclass(frozen=True)
class WrittenAnchor:
    """An anchor just written: what it records, where, and the mail queued for the auditors (if any)."""

    seq: int
    hash: str
    path: Path
    line: str
    mail: OutgoingMail | None


def write_anchor(report: ChainReport, now: datetime | None = None) -> WrittenAnchor:
    """Append a signed anchor of a verified trail's head to the anchor file, and log it as an event.

    `report` is a fresh full verification (portal.audit.queries.check_audit_trail): a trail that
    does not verify is refused, so an anchor never vouches for a tampered one. The mail to
    PORTAL_AUDITOR_MAIL goes into the outbox in the same transaction. Flushes; the caller commits.
    """
    config = current_app.config
    if report.problem is not None or not config.get("PORTAL_AUDIT_ANCHOR_DIR"):
        raise AnchorRefused(report if report.problem is not None else None)
    now = now or utcnow()
    line = anchor_line(report.last_seq, report.last_hash, report.last_unkeyed_seq, now, current_keyring())
    path = append_anchor(config["PORTAL_AUDIT_ANCHOR_DIR"], line)
    record_event(None, "audit.anchored", object_type="audit_trail", object_id=report.last_seq,
                 details={"seq": report.last_seq, "hash": report.last_hash, "file": str(path)})
    to = config.get("PORTAL_AUDITOR_MAIL", "")
    mail = render_mail("audit/mail/anchor.txt", to=to, seq=report.last_seq, hash=report.last_hash,
                       anchored_at=now, line=line.strip(), path=path) if to else None
    if mail is not None:
        queue_mail(mail, key=f"audit-anchor:{report.last_seq}:{now.isoformat()}")
    return WrittenAnchor(report.last_seq, report.last_hash, path, line, mail)


def anchor_trail(now: datetime | None = None, batch: int = 2000) -> WrittenAnchor:
    """Verify the whole trail now, then write its anchor (the daily job); raises AnchorRefused.

    Flushes; the caller commits (the outbox then sends the auditors' mail).
    """
    return write_anchor(check_audit_trail(batch), now)
