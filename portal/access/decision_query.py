"""The decision API's one lookup, on lean connections: no ORM session, no transaction, no ping.

Each call of the decision API is one indexed SELECT (token, system, person and stored decision).
Through the request's ORM session it would also cost a pool ping, BEGIN and ROLLBACK round trips
and SQLAlchemy's result machinery on every call, several times the statement itself. Here it runs
on a small pool of autocommit connections of its own (one statement needs no transaction), as SQL
compiled once, on the DBAPI cursor, with each column's own result processing (the conversions
SQLAlchemy would apply: aware UTC datetimes, booleans on SQLite). Instead of a ping before each
use, a connection the server dropped shows when the statement fails: it is discarded and the
statement runs once more on a new connection (SQLAlchemy's "optimistic" disconnect handling).

Nothing is cached between calls: every answer reads the token's revocation and the decision row as
they are now.

Measured against the same `select()` through SQLAlchemy Core on the same autocommit engine
(bench/bench_decision_query.py): Core costs about twice the hand path per lookup on both backends
(figures in docs/architecture.md, "Where the portal steps around its framework").
"""
from __future__ import annotations

import threading
from collections import namedtuple
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, bindparam, create_engine, event, select, update
from sqlalchemy.engine import Dialect, Engine

from portal.access.models import AccessDecision, ApiToken, ProtectedSystem
from portal.extensions import db
from portal.org.models import Person

#: Token, its system, the person and their decision row for that system: one query.
LOOKUP = (
    select(ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at, ProtectedSystem.id.label("system_id"),
           ProtectedSystem.code, Person.id.label("person_id"), Person.active, AccessDecision.allow,
           AccessDecision.reasons_json, AccessDecision.recheck_at)
    .select_from(ApiToken)
    .join(ProtectedSystem, ProtectedSystem.id == ApiToken.system_id)
    .outerjoin(Person, Person.employee_no == bindparam("employee_no"))
    .outerjoin(AccessDecision, and_(AccessDecision.system_id == ApiToken.system_id,
                                    AccessDecision.person_id == Person.id))
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
LookupRow = namedtuple("LookupRow", [column.key for column in LOOKUP.selected_columns])

_ENGINE_KEY = "portal.access.decision_query_engine"
_engine_lock = threading.Lock()


class _Compiled:
    """LOOKUP compiled for one dialect, with the result processor of each column (None: as is)."""

    def __init__(self, dialect: Dialect) -> None:
        compiled = LOOKUP.compile(dialect=dialect)
        self.sql = compiled.string
        self.order = compiled.positiontup if compiled.positional else None
        self.processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                           for column in LOOKUP.selected_columns]

    def parameters(self, values: dict):
        """The values in the driver's parameter style (a tuple for positional ones)."""
        return tuple(values[name] for name in self.order) if self.order is not None else values

    def row(self, raw) -> LookupRow:
        """A driver row as SQLAlchemy would have returned it."""
        return LookupRow(*(process(value) if process else value for process, value in zip(self.processors, raw)))


_compiled: dict[str, _Compiled] = {}


def decision_engine() -> Engine:
    """This app's pool of autocommit connections for the decision API (made on first use, in each process)."""
    engine = current_app.extensions.get(_ENGINE_KEY)
    if engine is not None:
        return engine
    with _engine_lock:
        engine = current_app.extensions.get(_ENGINE_KEY)
        if engine is None:
            url = db.engine.url
            if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
                engine = db.engine  # an in-memory database lives only in its own engine's connection
            else:
                engine = create_engine(url, isolation_level="AUTOCOMMIT")
                # Closed with the app's own pool (tests dispose it after each test; so may an admin tool).
                event.listen(db.engine, "engine_disposed", _dispose_with(engine))
            current_app.extensions[_ENGINE_KEY] = engine
    return engine


def _dispose_with(engine: Engine):
    def dispose(_disposed: Engine) -> None:
        engine.dispose()

    return dispose


def find_decision_row(token_hash: str, employee_no: str) -> LookupRow | None:
    """The one indexed lookup behind every answer (unique token hash, unique employee_no, primary key)."""
    engine = decision_engine()
    key = f"{engine.dialect.name}+{engine.dialect.driver}"
    statement = _compiled.get(key) or _compiled.setdefault(key, _Compiled(engine.dialect))
    parameters = statement.parameters({"employee_no": employee_no, "token_hash": token_hash})
    for attempt in (1, 2):
        connection = engine.raw_connection()
        cursor = None
        try:
            cursor = connection.cursor()
            cursor.execute(statement.sql, parameters)
            raw = cursor.fetchone()
            cursor.close()
        except engine.dialect.loaded_dbapi.Error as error:
            if attempt == 1 and engine.dialect.is_disconnect(error, connection.dbapi_connection, cursor):
                connection.invalidate(error)  # the server dropped it: a new connection, once
                continue
            raise
        finally:
            connection.close()
        return None if raw is None else statement.row(raw)
    return None  # not reached: the second attempt returns or raises


def note_token_used(token_id: int, now: datetime) -> None:
    """Record when the token was last used (one autocommit UPDATE)."""
    with decision_engine().begin() as connection:
        connection.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
