"""PostgreSQL sessions run with JIT compilation off (portal/config.py engine_options)."""
from __future__ import annotations

from sqlalchemy import text

from portal.config import engine_options
from portal.extensions import db


def test_only_postgresql_gets_the_start_up_option():
    assert engine_options("sqlite:///x.db", {}) == {}
    assert engine_options("postgresql+psycopg://h/db", {})["connect_args"] == {"options": "-c jit=off"}


def test_options_already_given_are_kept():
    given = {"pool_size": 3, "connect_args": {"options": "-c statement_timeout=5000", "connect_timeout": 4}}
    options = engine_options("postgresql+psycopg://h/db", given)
    assert options["pool_size"] == 3
    assert options["connect_args"] == {"options": "-c statement_timeout=5000 -c jit=off", "connect_timeout": 4}
    assert given["connect_args"]["options"] == "-c statement_timeout=5000"  # the caller's dict is untouched


def test_the_database_session_has_jit_off(app, database_url):
    if database_url.startswith("postgresql"):
        assert db.session.execute(text("SHOW jit")).scalar() == "off"
    else:
        assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
