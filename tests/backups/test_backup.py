"""`portal backup FILE` and `portal restore FILE` on both backends: everything comes back, the audit
chain verifies, and a restore never goes into a database that has data."""
from __future__ import annotations

import contextvars
import threading
import uuid

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.audit.services import record_event
from portal.extensions import db
from tests.conftest import POSTGRES_URL, _admin_engine


@pytest.fixture
def empty_database(database_url, tmp_path):
    """A second, empty database of the same kind as the test's."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"portal_restore_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {table: conn.scalar(select(func.count()).select_from(text(f'"{table}"')))
                    for table in inspect(engine).get_table_names()}
    finally:
        engine.dispose()


def _cli(url: str, tmp_path, *args):
    """A `portal` command against another database (outside the test's own app context)."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "t",
                        "PORTAL_MAIL_DIR": str(tmp_path / "mail")})

    def run():
        result = other.test_cli_runner().invoke(args=list(args))
        with other.app_context():
            db.engine.dispose()
        return result

    return contextvars.Context().run(run)  # no app context: the command pushes the other app's


def test_a_backup_restores_into_an_empty_database_with_every_row_and_a_verified_chain(
        app, org, database_url, empty_database, tmp_path):
    file = tmp_path / "portal.backup"
    written = app.test_cli_runner().invoke(args=["backup", str(file)])
    assert written.exit_code == 0, written.output
    assert not file.with_name(file.name + ".part").exists()
    restored = _cli(empty_database, tmp_path, "restore", str(file))
    assert restored.exit_code == 0, restored.output
    original, copy = _counts(database_url), _counts(empty_database)
    assert copy == original and original["audit_events"] > 0 and original["attestations"] == 1
    verified = _cli(empty_database, tmp_path, "audit", "verify")
    assert verified.exit_code == 0 and "chain intact" in verified.output
    assert _cli(empty_database, tmp_path, "init").exit_code == 0  # already at the latest migration
    engine = create_engine(empty_database)
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:  # the triggers came back too
        conn.execute(text("UPDATE audit_events SET reason = 'edited'"))
    engine.dispose()


def test_a_restore_refuses_a_database_that_has_data_and_changes_nothing(app, org, database_url, tmp_path):
    file = tmp_path / "portal.backup"
    assert app.test_cli_runner().invoke(args=["backup", str(file)]).exit_code == 0
    before = _counts(database_url)
    refused = app.test_cli_runner().invoke(args=["restore", str(file)])
    assert refused.exit_code == 1 and "not empty" in refused.output
    assert _counts(database_url) == before
    wrong_kind = tmp_path / "not-a-backup"
    wrong_kind.write_bytes(b"hello")
    assert app.test_cli_runner().invoke(args=["restore", str(wrong_kind)]).exit_code == 1


def test_an_online_sqlite_backup_taken_while_the_portal_writes_is_consistent(app, org, database_url, empty_database,
                                                                              tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("the online backup API is SQLite's; pg_dump takes a snapshot by itself")
    stop = threading.Event()

    def write_events():
        with app.app_context():
            while not stop.is_set():
                record_event(None, "test.write", reason="during backup")
                db.session.commit()
            db.session.remove()

    writer = threading.Thread(target=write_events)
    writer.start()
    try:
        file = tmp_path / "online.backup"
        assert app.test_cli_runner().invoke(args=["backup", str(file)]).exit_code == 0
    finally:
        stop.set()
        writer.join()
    assert _cli(empty_database, tmp_path, "restore", str(file)).exit_code == 0
    assert _cli(empty_database, tmp_path, "audit", "verify").exit_code == 0
