"""Reading the audit trail."""
from __future__ import annotations

from typing import Iterator

from sqlalchemy import select

from portal.audit.chain import ChainProblem, verify_chain
from portal.audit.models import AuditEvent
from portal.extensions import db


def iter_chain(batch: int = 2000) -> Iterator[tuple[int, dict, str]]:
    """Every event in seq order as (seq, fields, stored hash), streamed in batches."""
    last_seq = 0
    while True:
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield row.seq, row.chain_fields(), row.hash
        last_seq = rows[-1].seq
        db.session.expunge_all()


def verify_audit_trail() -> ChainProblem | None:
    """Verify the whole stored chain."""
    return verify_chain(iter_chain())
