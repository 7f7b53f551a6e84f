"""Ping a pooled database connection before use only when it has been idle for a while.

SQLAlchemy's pool_pre_ping pings on every checkout: one more round trip on every request, which on
PostgreSQL was about a tenth of what a quiz submission costs the worker and the database together.
Here a connection that was in use within the last IDLE_BEFORE_PING_SECONDS is handed out as it is;
an older one is pinged first (the dialect's own ping), and a dead one is replaced: raising
DisconnectionError from the pool's checkout event makes the pool open a new connection (SQLAlchemy's
documented pessimistic recipe). What is left to the optimistic handling: a database that restarts
while connections are busy fails the request that meets a dead connection once, and SQLAlchemy then
renews the whole pool.
"""
from __future__ import annotations

import time
import weakref

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IDLE_BEFORE_PING_SECONDS = 10.0
_IDLE_SINCE = "portal_idle_since"
_REGISTERED: weakref.WeakSet[Engine] = weakref.WeakSet()


def needs_ping(idle_since: float | None, now: float, idle_before_ping: float) -> bool:
    """True when a connection back in the pool since `idle_since` should be pinged before use."""
    return idle_since is not None and now - idle_since >= idle_before_ping


def ping_idle_connections(engine: Engine) -> None:
    """Stamp connections when they go back to this engine's pool; ping the idle ones on checkout (once)."""
    if engine in _REGISTERED:
        return
    _REGISTERED.add(engine)
    dialect = engine.dialect

    def checkout(dbapi_connection, record, _proxy) -> None:
        if not needs_ping(record.info.get(_IDLE_SINCE), time.monotonic(), IDLE_BEFORE_PING_SECONDS):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure of the ping: replace the connection
            raise DisconnectionError("an idle connection failed its ping") from error

    event.listen(engine, "checkin", _checkin)
    event.listen(engine, "checkout", checkout)


def _checkin(_dbapi_connection, record) -> None:
    if record is not None:
        record.info[_IDLE_SINCE] = time.monotonic()
