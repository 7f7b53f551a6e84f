"""Helpers for the audit tests: append events, tamper like a DBA with full rights, run the CLI."""
from __future__ import annotations

from sqlalchemy import text

from portal.audit.services import record_event
from portal.extensions import db


def backend() -> str:
    """"sqlite" or "postgresql" for the current test database."""
    return db.engine.dialect.name


def add_events(count: int, actor=None, *, action: str = "test.event", reason: str = "", **kwargs) -> list[int]:
    """Append `count` events through the service in one transaction; their seqs."""
    seqs = [record_event(actor, action, reason=reason or f"event {i}", **kwargs).seq for i in range(count)]
    db.session.commit()
    return seqs


def tamper(*statements: str, **params) -> None:
    """Run SQL against audit_events as someone who can get past the append-only triggers.

    SQLite: drop the triggers first. PostgreSQL: the superuser disables triggers for this
    transaction only (session_replication_role = replica).
    """
    if backend() == "sqlite":
        db.session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        db.session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
    else:
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    for statement in statements:
        db.session.execute(text(statement), params)
    db.session.commit()
    db.session.expire_all()


def swap_contents(first: int, second: int) -> None:
    """Swap every column but seq between two events (a reordering of the trail)."""
    columns = ["occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id", "reason",
               "details_json", "source", "prev_hash", "hash"]
    rows = {seq: db.session.execute(text(f"SELECT {', '.join(columns)} FROM audit_events WHERE seq = :s"),
                                    {"s": seq}).one() for seq in (first, second)}
    placeholders = ", ".join(f"{c} = :{c}" for c in columns)
    # prev_hash and hash are unique: park the first row on dummy values before the swap.
    dummy = {c: v for c, v in zip(columns, rows[first])}
    dummy.update(prev_hash="x" * 64, hash="y" * 64)
    tamper(f"UPDATE audit_events SET {placeholders} WHERE seq = {first}", **dummy)
    tamper(f"UPDATE audit_events SET {placeholders} WHERE seq = {second}", **dict(zip(columns, rows[first])))
    tamper(f"UPDATE audit_events SET {placeholders} WHERE seq = {first}", **dict(zip(columns, rows[second])))


def verify_cli(app, *args: str):
    """Run `portal audit verify` and return the click result (exit_code, output)."""
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def anchor_cli(app, *args: str):
    """Run `portal audit anchor` and return the click result."""
    return app.test_cli_runner().invoke(args=["audit", "anchor", *args])


def _row_fields(seq: int) -> tuple[dict, str]:
    from sqlalchemy import select

    from portal.audit.models import AuditEvent, chain_fields_of

    table = AuditEvent.__table__
    row = db.session.execute(select(table).where(table.c.seq == seq)).one()
    return chain_fields_of(row), row.hash


def rewrite_from(first: int, reason: str, key: bytes | None = None, key_id: str = "") -> None:
    """Rewrite every event from `first` on as a DBA would, the first one's reason changed, links kept.

    Without `key` the rewritten events get plain SHA-256 hashes (scheme 1: all a DBA without the
    audit key can compute); with it, keyed hashes as the portal would make them.
    """
    from portal.audit.chain import KEYED, UNKEYED, event_hash, plain_hash

    last = db.session.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
    previous = _row_fields(first - 1)[1] if first > 1 else "0" * 64
    for seq in range(first, last + 1):
        fields, _ = _row_fields(seq)
        for name in ("hash_scheme", "key_id"):
            fields.pop(name, None)
        fields["prev_hash"] = previous
        if seq == first:
            fields["reason"] = reason
        if key is None:
            scheme, new_hash = UNKEYED, plain_hash(fields)
        else:
            fields.update(hash_scheme=KEYED, key_id=key_id)
            scheme, new_hash = KEYED, event_hash(fields, {key_id: key})
        tamper("UPDATE audit_events SET reason = :r, prev_hash = :p, hash = :h, hash_scheme = :s, key_id = :k "
               "WHERE seq = :q", r=fields["reason"], p=previous, h=new_hash, s=scheme, k=fields.get("key_id", ""),
               q=seq)
        previous = new_hash


def add_unkeyed_events(count: int) -> None:
    """Append events as the portal wrote them before hashes were keyed (plain SHA-256, scheme 1)."""
    from datetime import datetime, timezone

    from portal.audit.chain import plain_hash

    last = db.session.execute(text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")).first()
    seq, previous = (last.seq, last.hash) if last else (0, "0" * 64)
    for _ in range(count):
        seq += 1
        fields = {"seq": seq, "occurred_at": datetime(2026, 1, 5, 9, 0, seq, tzinfo=timezone.utc), "actor_id": None,
                  "actor_label": "", "action": "test.old", "object_type": "", "object_id": "",
                  "reason": f"old {seq}", "details": {}, "source": "cli", "prev_hash": previous}
        previous = plain_hash(fields)
        db.session.execute(text(
            "INSERT INTO audit_events (seq, occurred_at, actor_id, actor_label, action, object_type, object_id, "
            "reason, details_json, source, prev_hash, hash) VALUES (:seq, :at, NULL, '', 'test.old', '', '', "
            ":reason, '{}', 'cli', :prev, :hash)"),
            {"seq": seq, "at": fields["occurred_at"].replace(tzinfo=None), "reason": fields["reason"],
             "prev": fields["prev_hash"], "hash": previous})
    db.session.commit()
