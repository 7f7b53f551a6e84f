"""Reading the audit trail for its pages and exports: filtered pages, export batches, one event."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from sqlalchemy import Select, func, select

from portal.audit.chain import GENESIS_HASH, UnknownKey, event_hash
from portal.audit.criteria import AuditCriteria
from portal.audit.keys import current_keyring
from portal.audit.models import AuditEvent
from portal.audit.queries import chain_head
from portal.extensions import db
from portal.org.models import Person

PAGE_SIZE = 50
_COLUMNS = AuditEvent.__table__.c


def _filtered(stmt: Select, criteria: AuditCriteria, up_to_seq: int | None = None) -> Select:
    """Add the criteria's conditions to a statement over audit_events."""
    if criteria.action:
        prefix = criteria.action_prefix
        stmt = stmt.where(_COLUMNS.action.startswith(prefix, autoescape=True) if prefix is not None
                          else _COLUMNS.action == criteria.action)
    for name, column in (("actor_no", _COLUMNS.actor_label), ("object_type", _COLUMNS.object_type),
                         ("object_id", _COLUMNS.object_id)):
        if getattr(criteria, name):
            stmt = stmt.where(column == getattr(criteria, name))
    if criteria.text:
        stmt = stmt.where(_COLUMNS.reason.icontains(criteria.text, autoescape=True))
    start, end = criteria.occurred_bounds()
    if start is not None:
        stmt = stmt.where(_COLUMNS.occurred_at >= start)
    if end is not None:
        stmt = stmt.where(_COLUMNS.occurred_at < end)
    if up_to_seq is not None:
        stmt = stmt.where(_COLUMNS.seq <= up_to_seq)
    return stmt


def _with_actor_name() -> Select:
    return select(AuditEvent, Person.name.label("actor_name")).outerjoin(Person, Person.id == AuditEvent.actor_id)


def up_to_seq_for(criteria: AuditCriteria) -> int | None:
    """The last seq included "as of" the criteria's day, or None when there is no as-of date."""
    return chain_head(criteria.as_of_end())[0] if criteria.as_of else None


def count_events(criteria: AuditCriteria, up_to_seq: int | None = None) -> int:
    """How many events match."""
    return db.session.scalar(_filtered(select(func.count()).select_from(AuditEvent), criteria, up_to_seq))


def known_actions() -> list[str]:
    """Every action name recorded so far (suggestions for the filter)."""
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


@dataclass(frozen=True)
class EventPage:
    """One page of events, newest first, with keyset cursors to the neighbouring pages."""

    rows: list[Any]
    newer_after: int | None
    older_before: int | None


def _exists(criteria: AuditCriteria, up_to_seq: int | None, condition) -> bool:
    stmt = _filtered(select(AuditEvent.seq), criteria, up_to_seq).where(condition).limit(1)
    return db.session.scalar(stmt) is not None


def page_of_events(criteria: AuditCriteria, *, up_to_seq: int | None = None, before: int | None = None,
                   after: int | None = None, size: int = PAGE_SIZE) -> EventPage:
    """Events matching the criteria, newest first: the first page, or the page before/after a seq."""
    base = _filtered(_with_actor_name(), criteria, up_to_seq)
    if after is not None:
        fetched = db.session.execute(
            base.where(AuditEvent.seq > after).order_by(AuditEvent.seq.asc()).limit(size + 1)).all()
        more_newer = len(fetched) > size
        rows = list(reversed(fetched[:size]))
        more_older = bool(rows) and _exists(criteria, up_to_seq, AuditEvent.seq < rows[-1].AuditEvent.seq)
    else:
        if before is not None:
            base = base.where(AuditEvent.seq < before)
        fetched = db.session.execute(base.order_by(AuditEvent.seq.desc()).limit(size + 1)).all()
        more_older = len(fetched) > size
        rows = fetched[:size]
        more_newer = bool(rows) and before is not None and _exists(
            criteria, up_to_seq, AuditEvent.seq > rows[0].AuditEvent.seq)
    return EventPage(
        rows=rows,
        newer_after=rows[0].AuditEvent.seq if rows and more_newer else None,
        older_before=rows[-1].AuditEvent.seq if rows and more_older else None,
    )


def iter_export_rows(criteria: AuditCriteria, up_to_seq: int, batch: int = 1000) -> Iterator[Any]:
    """Matching events up to a seq, oldest first, as plain rows with actor_name; read in batches."""
    last_seq = 0
    while True:
        # LIMIT on audit_events alone (a keyset range scan), then names for just those rows.
        chunk = _filtered(select(AuditEvent.__table__), criteria, up_to_seq).where(
            _COLUMNS.seq > last_seq).order_by(_COLUMNS.seq).limit(batch).subquery()
        rows = db.session.execute(
            select(chunk, Person.name.label("actor_name"))
            .outerjoin(Person, Person.id == chunk.c.actor_id).order_by(chunk.c.seq)
        ).all()
        if not rows:
            return
        yield from rows
        last_seq = rows[-1].seq


def _hash_matches(event: AuditEvent) -> bool:
    try:
        return event_hash(event.chain_fields(), current_keyring().keys) == event.hash
    except UnknownKey:
        return False


@dataclass(frozen=True)
class EventDetail:
    """One event with what the detail page shows about its place in the chain."""

    event: AuditEvent
    actor_name: str | None
    hash_matches: bool
    link_matches: bool
    previous_seq: int | None
    next_seq: int | None


def event_detail(seq: int) -> EventDetail | None:
    """One event, its actor's name, whether its own hash and link hold, and its neighbours."""
    found = db.session.execute(_with_actor_name().where(AuditEvent.seq == seq)).first()
    if found is None:
        return None
    event = found.AuditEvent
    previous = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq < seq).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    next_seq = db.session.scalar(
        select(AuditEvent.seq).where(AuditEvent.seq > seq).order_by(AuditEvent.seq).limit(1))
    expected_prev = previous.hash if previous and previous.seq == seq - 1 else (GENESIS_HASH if seq == 1 else None)
    return EventDetail(
        event=event,
        actor_name=found.actor_name,
        hash_matches=_hash_matches(event),
        link_matches=expected_prev is not None and event.prev_hash == expected_prev,
        previous_seq=previous.seq if previous else None,
        next_seq=next_seq,
    )
