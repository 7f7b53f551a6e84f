"""Reading the audit trail for its verification: the whole chain streamed, one stored hash, the head."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Iterator

from flask import current_app
from sqlalchemy import select

from portal.audit.anchors import read_anchors
from portal.audit.chain import (
    BAD_ANCHOR,
    GENESIS_HASH,
    ChainProblem,
    ChainReport,
    check_chain,
)
from portal.audit.keys import current_keyring
from portal.audit.models import AuditEvent, chain_fields_of
from portal.extensions import db

_COLUMNS = AuditEvent.__table__.c


def iter_chain(batch: int = 2000) -> Iterator[tuple[int, dict, str]]:
    """Every event in seq order as (seq, fields, stored hash), streamed in keyset batches.

    Plain rows, not ORM objects: memory stays flat and the caller's session is left alone.
    """
    last_seq = 0
    while True:
        rows = db.session.execute(
            select(AuditEvent.__table__).where(_COLUMNS.seq > last_seq).order_by(_COLUMNS.seq).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield row.seq, chain_fields_of(row), row.hash
        last_seq = rows[-1].seq


def check_audit_trail(batch: int = 2000) -> ChainReport:
    """Verify the whole stored chain with the configured keys, against every anchor in the anchor file.

    How many events held, the last hash, the anchors checked, and the first problem: in the chain
    or against an anchor first; else an anchor line that is not validly signed.
    """
    keys = current_keyring()
    anchor_file = read_anchors(current_app.config.get("PORTAL_AUDIT_ANCHOR_DIR", ""), keys)
    report = check_chain(iter_chain(batch), keys.keys, anchor_file.anchors)
    if report.problem is None and anchor_file.bad:
        bad = anchor_file.bad[0]
        reason = f"line {bad.line} of {anchor_file.path} is not a valid anchor: {bad.reason}"
        report = replace(report, problem=ChainProblem(0, reason, BAD_ANCHOR, anchor_line=bad.line))
    return report


def verify_audit_trail() -> ChainProblem | None:
    """Verify the whole stored chain; None when it holds."""
    return check_audit_trail().problem


def stored_hash(seq: int) -> str | None:
    """The stored hash of one event, or None when there is no such event."""
    return db.session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))


def chain_head(before: datetime | None = None) -> tuple[int, str]:
    """(seq, hash) of the last event, or of the last one that happened before a moment."""
    stmt = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    if before is not None:
        stmt = stmt.where(AuditEvent.occurred_at < before)
    row = db.session.execute(stmt).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)
