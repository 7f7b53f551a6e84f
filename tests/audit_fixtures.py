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
