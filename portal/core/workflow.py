"""One way to move a workflow step: only from the state the person saw, once.

A step is a conditional UPDATE … WHERE id = :id AND <state> = :seen (plus any further
conditions), or an INSERT that a unique key allows once. Whoever's statement changed the row
won; everyone else gets StepLost, carrying what happened meanwhile (the row's state now, who
moved it and when, when the feature can tell), and must write nothing: no history row, no audit
event, no mail. The database settles the race: PostgreSQL makes the second UPDATE wait for the
first to commit and then finds the state changed; SQLite has one writer at a time.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.orm.exc import ObjectDeletedError

from portal.extensions import db


@dataclass(frozen=True)
class Meanwhile:
    """What happened to a row while the person looked at it."""

    #: The row's state now (None: the row is gone).
    state: str | None
    #: Who moved it there (a Person, or None when nobody can say).
    by: Any = None
    #: When they did.
    at: datetime | None = None


class StepLost(Exception):
    """Someone else moved the row first; nothing was written. `subject` names the kind of row."""

    def __init__(self, subject: str, meanwhile: Meanwhile):
        super().__init__(f"{subject} is now {meanwhile.state}")
        self.subject = subject
        self.meanwhile = meanwhile


#: Tells who moved a row, and when, from the row as it is now.
Witness = Callable[[Any], tuple[Any, datetime | None]]


def _seen_filter(column, seen):
    if isinstance(seen, str) or not isinstance(seen, Collection):
        return column == seen
    return column.in_(list(seen))


def _key_filter(model, key):
    columns = inspect(model).primary_key
    values = key if isinstance(key, tuple) else (key,)
    return [column == value for column, value in zip(columns, values)]


def try_move(model, key, column: str, seen, values: Mapping[str, Any], *conditions) -> bool:
    """UPDATE the row `key` of `model` to `values` only while `column` is still `seen`; True when it won."""
    db.session.flush()  # our own pending changes first: a Core statement does not autoflush
    state = getattr(model, column)
    result = db.session.execute(
        update(model).where(*_key_filter(model, key), _seen_filter(state, seen), *conditions)
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _meanwhile(row, column: str, witness: Witness | None) -> Meanwhile:
    try:
        db.session.refresh(row)
    except ObjectDeletedError:
        return Meanwhile(None)
    by, at = witness(row) if witness else (None, None)
    return Meanwhile(getattr(row, column), by, at)


def move_step(row, column: str, seen, values: Mapping[str, Any], *conditions, subject: str,
              witness: Witness | None = None) -> None:
    """Move an ORM row from the state the person saw to `values`, or raise StepLost saying what happened.

    On a win the row is refreshed (it shows the new state); on a loss too (it shows the winner's).
    """
    model = type(row)
    key = inspect(row).identity
    if try_move(model, key if len(key) > 1 else key[0], column, seen, values, *conditions):
        db.session.refresh(row)
        return
    raise StepLost(subject, _meanwhile(row, column, witness))


def refuse_unless(row, column: str, expected, *, subject: str, witness: Witness | None = None) -> None:
    """StepLost when the row, as loaded, is not in an expected state: found before any write, told alike."""
    value = getattr(row, column)
    if isinstance(expected, str) or not isinstance(expected, Collection):
        matches = value == expected
    else:
        matches = value in expected
    if not matches:
        raise StepLost(subject, _meanwhile(row, column, witness))


def _insert(table):
    """The backend's INSERT that can say ON CONFLICT DO NOTHING."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def insert_once(model, values: Mapping[str, Any], unique: Collection[str], *, subject: str,
                state: str, witness: Witness | None = None):
    """INSERT a row that a unique key allows once; return it, or raise StepLost naming the row already there.

    `unique` names the columns of that key; `state` is what the existing row means (e.g. "revoked").
    """
    db.session.flush()
    table = model.__table__
    key = [table.c[column.name] for column in inspect(model).primary_key]
    inserted = db.session.execute(_insert(table).values(**values).on_conflict_do_nothing().returning(*key)).first()
    if inserted is not None:
        return db.session.get(model, tuple(inserted) if len(key) > 1 else inserted[0])
    existing = db.session.scalar(select(model).where(*(getattr(model, name) == values[name] for name in unique)))
    if existing is None:  # another key refused it (not the one we guard): let the database say so
        raise RuntimeError(f"{table.name}: insert refused by another constraint")
    by, at = witness(existing) if witness else (None, None)
    raise StepLost(subject, Meanwhile(state, by, at))
