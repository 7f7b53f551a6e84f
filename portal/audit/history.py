"""History tables reconciled with the audit chain: a row deleted or edited after the fact is found.

Features register the append-only history tables their reports read (services.register_history_table,
at app start-up: the audit layer knows no feature). Every row such a table gains through the session
is sealed into the next audit event of the same transaction: record_event adds
{"history": {table: {"ids": "3-5,9", "count": 4, "digest": …}}} to the event's details, so the
seal is covered by the event's hash. A transaction that adds history rows and no audit event
after them gets one "history.recorded" event at commit. `reconcile_history()` (run by
`portal audit verify`) recomputes every seal from the stored rows: a missing row, an edited row
or a row no seal covers (added outside the portal) is reported.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Iterator

from sqlalchemy import Table, event, select
from sqlalchemy.orm import Session

from portal.audit.chain import _encode
from portal.audit.models import AuditEvent
from portal.extensions import db

_TABLES: dict[str, Table] = {}
#: Tables every row of which must be sealed: a row in no seal is reported (see services.register_history_table).
_ALWAYS_SEALED: set[str] = set()
_PENDING = "audit_history_pending"
#: Seals of at most this many rows also keep each row's digest, so an edit names its row.
ROW_DIGESTS_UP_TO = 50


def track_history_table(table: Table, always_sealed: bool = True) -> None:
    """Start sealing this table's new rows (the bookkeeping of services.register_history_table)."""
    _TABLES[table.name] = table
    if always_sealed:
        _ALWAYS_SEALED.add(table.name)
    else:
        _ALWAYS_SEALED.discard(table.name)
    _install()


def registered_tables() -> list[str]:
    """Names of the tables being sealed."""
    return sorted(_TABLES)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _encode(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_digest(table: Table, values: dict[str, Any]) -> str:
    """sha256 over a row's columns in canonical JSON (the same from an ORM object or a stored row)."""
    canonical = json.dumps({c.name: _value(values.get(c.name)) for c in table.columns}, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _key(table: Table, values: dict[str, Any]) -> str:
    """A row's identity in a seal: its id, or its primary key columns joined by '|'."""
    return "|".join(str(_value(values[c.name])) for c in table.primary_key.columns)


def note_rows(session: Session, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Seal rows a feature inserted with a Core statement (ORM objects are seen on their own)."""
    pending = session.info.setdefault(_PENDING, {})
    for values in rows:
        pending.setdefault(table.name, {})[_key(table, values)] = row_digest(table, values)


def _after_flush(session: Session, _context) -> None:
    for obj in session.new:
        table = getattr(obj, "__table__", None)
        if table is not None and table.name in _TABLES:
            values = {c.name: getattr(obj, c.key, None) for c in table.columns}
            note_rows(session, table, [values])


def _ranges(keys: list[str]) -> str:
    """"3-5,9" for integer ids 3, 4, 5, 9; other keys are listed as they are."""
    if not all(k.isdigit() for k in keys):
        return ",".join(keys)
    numbers = sorted(int(k) for k in keys)
    parts, start, previous = [], numbers[0], numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if n is not None:
            start = previous = n
    return ",".join(parts)


def _expand(ranges: str) -> list[str]:
    keys: list[str] = []
    for part in filter(None, ranges.split(",")):
        low, dash, high = part.partition("-")
        if dash and low.isdigit() and high.isdigit():
            keys.extend(str(n) for n in range(int(low), int(high) + 1))
        else:
            keys.append(part)
    return keys


def _sort_key(key: str):
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def combined_digest(digests: dict[str, str]) -> str:
    """One digest over (key, row digest) pairs in key order."""
    text = "\n".join(f"{k}:{digests[k]}" for k in sorted(digests, key=_sort_key))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def take_seals(session: Session) -> dict[str, dict]:
    """The seals of rows added since the last audit event (and forget them): for record_event."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return {}
    seals = {}
    for name, digests in sorted(pending.items()):
        seal = {"ids": _ranges(list(digests)), "count": len(digests), "digest": combined_digest(digests)}
        if len(digests) <= ROW_DIGESTS_UP_TO:
            seal["rows"] = {k: d[:16] for k, d in sorted(digests.items(), key=lambda kv: _sort_key(kv[0]))}
        seals[name] = seal
    return seals


def tables_unsealed_at_commit(session: Session) -> list[str]:
    """Tables with rows no event sealed yet, when one of them must always be sealed (services records
    a "history.recorded" event for them before the commit); else forget the rows and return []."""
    session.flush()  # rows still only added are sealed too
    pending = session.info.get(_PENDING)
    if not pending:
        return []
    if not set(pending) & _ALWAYS_SEALED:
        session.info.pop(_PENDING, None)
        return []
    return sorted(pending)


def _forget(session: Session) -> None:
    """Nothing carries over to the next transaction (rows flushed during the commit itself stay unsealed)."""
    session.info.pop(_PENDING, None)


def _install() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _forget)
        event.listen(Session, "after_rollback", _forget)


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryProblem:
    """A history row that does not match what the audit chain recorded about it."""

    table: str
    key: str
    #: missing (deleted), edited, or unsealed (not in any seal: added outside the portal).
    kind: str
    seq: int | None

    def describe(self) -> str:
        """One line for the terminal."""
        if self.kind == "missing":
            return f"{self.table} row {self.key}, sealed by audit event {self.seq}, is missing (deleted)"
        if self.kind == "edited":
            return f"{self.table} row(s) {self.key}, sealed by audit event {self.seq}, were edited"
        return f"{self.table} row {self.key} is in no audit event (added outside the portal)"


def _stored(table: Table, batch: int = 5000) -> dict[str, str]:
    digests: dict[str, str] = {}
    order = list(table.primary_key.columns)
    offset = 0
    while True:
        rows = db.session.execute(select(table).order_by(*order).offset(offset).limit(batch)).mappings().all()
        for row in rows:
            digests[_key(table, row)] = row_digest(table, row)
        if len(rows) < batch:
            return digests
        offset += batch


def seals_in(events: Iterable[tuple[int, dict]]) -> Iterator[tuple[int, str, dict]]:
    """(seq, table, seal) for every seal among (seq, details) of audit events."""
    for seq, details in events:
        for name, seal in (details.get("history") or {}).items():
            if isinstance(seal, dict):
                yield seq, name, seal


def reconcile_history(seals: Iterable[tuple[int, str, dict]]) -> list[HistoryProblem]:
    """Problems found comparing the stored rows of each registered table with the seals."""
    stored = {name: _stored(table) for name, table in sorted(_TABLES.items())}
    covered: dict[str, set[str]] = {name: set() for name in stored}
    problems: list[HistoryProblem] = []
    for seq, name, seal in seals:
        if name not in stored:
            continue
        keys = _expand(str(seal.get("ids", "")))
        covered[name].update(keys)
        present = {k: stored[name][k] for k in keys if k in stored[name]}
        problems += [HistoryProblem(name, k, "missing", seq) for k in keys if k not in present]
        if len(present) == len(keys) and combined_digest(present) != seal.get("digest"):
            rows = seal.get("rows") or {}
            edited = [k for k in keys if rows.get(k) not in (None, present[k][:16])] or [str(seal.get("ids"))]
            problems += [HistoryProblem(name, k, "edited", seq) for k in edited]
    for name, digests in stored.items():
        if name not in _ALWAYS_SEALED:
            continue
        sealed = [int(k) for k in covered[name] if k.isdigit()]
        first = min(sealed) if sealed else None
        for key in sorted(set(digests) - covered[name], key=_sort_key):
            # Rows from before sealing began (an upgrade) are not reported; rows after it are.
            if first is not None and key.isdigit() and int(key) > first:
                problems.append(HistoryProblem(name, key, "unsealed", None))
    return problems


def stored_seals(batch: int = 2000) -> Iterator[tuple[int, str, dict]]:
    """Every seal recorded in the audit trail, in chain order (events whose details carry "history")."""
    last = 0
    while True:
        rows = db.session.execute(select(AuditEvent.seq, AuditEvent.details_json).where(
            AuditEvent.seq > last, AuditEvent.details_json.contains('"history"')).order_by(AuditEvent.seq)
            .limit(batch)).all()
        if not rows:
            return
        yield from seals_in((seq, json.loads(details or "{}")) for seq, details in rows)
        last = rows[-1].seq


def check_history() -> list[HistoryProblem]:
    """Reconcile every registered history table with the seals in the audit trail."""
    return reconcile_history(stored_seals())
