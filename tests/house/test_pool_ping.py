"""Idle pooled connections are pinged before use; busy ones are not (portal/core/pool_ping.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from portal.core import pool_ping
from portal.extensions import db


def test_only_a_connection_idle_long_enough_is_pinged():
    assert pool_ping.needs_ping(100.0, 110.0, 10.0)
    assert not pool_ping.needs_ping(100.0, 109.9, 10.0)
    assert not pool_ping.needs_ping(None, 1e9, 10.0)  # a new connection needs no ping


def test_a_connection_used_a_moment_ago_goes_out_without_a_ping(app, client, make_person, login, monkeypatch):
    login(make_person("E1"))
    assert client.get("/").status_code == 200
    pings = []
    original = db.engine.dialect.do_ping
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda connection: pings.append(1) or original(connection))
    assert client.get("/").status_code == 200
    assert pings == []
    monkeypatch.setattr(pool_ping, "IDLE_BEFORE_PING_SECONDS", 0.0)
    assert client.get("/").status_code == 200
    assert pings  # idle "long enough" now: pinged before use


def test_an_idle_connection_the_database_dropped_is_replaced(app, client, make_person, login, database_url,
                                                            monkeypatch):
    """The server ended every other connection (a restart, an idle timeout): the next page still loads."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    login(make_person("E1"))
    assert client.get("/").status_code == 200  # the pool now holds a used connection
    db.session.remove()  # the test's own session gives its connection back too
    admin_engine = create_engine(database_url)
    with admin_engine.connect() as admin:
        ended = admin.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    admin_engine.dispose()
    assert ended >= 1
    monkeypatch.setattr(pool_ping, "IDLE_BEFORE_PING_SECONDS", 0.0)
    assert client.get("/").status_code == 200
