"""Databases and synthetic training data shared by bench/bench_training_*.py.

fresh_database() yields a migrated SQLite file or a PostgreSQL database created (and dropped)
here. The synthetic rows are written with a few INSERT … SELECT statements, so 2.5 million
assignments take seconds, and every training status occurs.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    """Where benchmark databases are created: PORTAL_BENCH_POSTGRES_URL, else the test server."""
    return (os.environ.get("PORTAL_BENCH_POSTGRES_URL") or os.environ.get("PORTAL_TEST_POSTGRES_URL")
            or DEFAULT_POSTGRES)


@contextlib.contextmanager
def fresh_database(backend: str):
    """Yield the URL of a new, migrated database; remove it afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            _migrate(url)
            yield url
        return
    base = make_url(postgres_url())
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"portal_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def exit_cleanly_on_sigterm() -> None:
    """`timeout` and CI send SIGTERM: turn it into SystemExit so databases and servers are removed."""
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))


def postgres_available() -> bool:
    """True when the benchmark PostgreSQL server answers."""
    try:
        engine = create_engine(make_url(postgres_url()))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # any connection failure: skip PostgreSQL, saying so
        return False


def bench_app(url: str, **overrides):
    """A portal app bound to the benchmark database."""
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", **overrides})


def _migrate(url: str) -> None:
    app = bench_app(url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()


def insert_people(people: int, departments: int) -> None:
    """People and departments from portal.demo.organisation.large_rows, inserted directly."""
    from portal.demo.organisation import large_rows
    from portal.org.models import Department, Person

    rows = large_rows(people, departments)
    codes = {}
    for row in rows:
        codes.setdefault(row.department_code, (row.department_name, row.department_kind))
    db.session.execute(insert(Department), [
        {"code": code, "name_ja": name, "name_en": code, "kind": kind, "created_at": _now()}
        for code, (name, kind) in codes.items()])
    ids = dict(db.session.execute(select(Department.code, Department.id)).all())
    db.session.execute(insert(Person), [
        {"employee_no": r.employee_no, "name": r.name, "name_kana": r.name_kana, "email": r.email,
         "department_id": ids[r.department_code], "active": True, "password_hash": "", "session_version": 1,
         "locale": "", "created_at": _now(), "updated_at": _now()} for r in rows])


def _now() -> datetime:
    return datetime.now(timezone.utc)


def insert_manuals(count: int, today: date) -> None:
    """`count` manuals; even ones have a second material edition (and a 12-month validity)."""
    from portal.manuals.models import Manual, ManualEdition

    db.session.execute(insert(Manual), [
        {"slug": f"bench-{n:03d}", "title_ja": f"マニュアル{n}", "title_en": f"Manual {n}", "created_at": _now()}
        for n in range(1, count + 1)])
    manuals = db.session.execute(select(Manual.id)).scalars().all()
    editions = []
    for manual_id in manuals:
        for number in (1, 2) if manual_id % 2 == 0 else (1,):
            editions.append({
                "manual_id": manual_id, "number": number, "change_kind": "material", "change_summary_ja": "",
                "change_summary_en": "", "effective_date": today - timedelta(days=400 if number == 1 else 10),
                "published_at": _now(), "source_text": "", "content_hash": "0" * 64, "html": "",
                "toc_json": "[]", "sections_json": "[]", "audience_json": "{}", "days_allowed": 30,
                "validity_months": 12 if manual_id % 2 == 0 else None, "statement_ja": "", "statement_en": ""})
    db.session.execute(insert(ManualEdition), editions)


def insert_training(today: date) -> None:
    """Every person × every manual assigned; progress spread so that every status occurs."""
    now = datetime.combine(today, datetime.min.time()).replace(hour=3)
    params = {"soon": today + timedelta(days=20), "past": today - timedelta(days=5),
              "recent": now - timedelta(days=30), "old": now - timedelta(days=400), "now": now}
    # Every pair's status row, pending (as migration 0008 leaves them; settled by `portal training
    # rebuild-status` or the daily settle), and the facts written with the status triggers off.
    db.session.execute(text(
        "INSERT INTO training_status_rows (person_id, manual_id, pending, stale_from) "
        "SELECT p.id, m.id, :pending, :stale FROM people p CROSS JOIN manuals m ORDER BY p.id, m.id"),
        {"pending": True, "stale": date(1900, 1, 1)})
    with _status_triggers_off():
        _insert_facts(params)


@contextlib.contextmanager
def _status_triggers_off():
    """Bulk synthetic inserts skip the triggers that mark status rows pending (all are pending already)."""
    tables = ("training_assignments", "training_progress")
    if db.session.get_bind().dialect.name == "postgresql":
        for table in tables:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield
        for table in tables:
            db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        return
    triggers = db.session.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
        "('training_assignments', 'training_progress') AND name LIKE '%status%'")).all()
    for name, _sql in triggers:
        db.session.execute(text(f"DROP TRIGGER {name}"))
    yield
    for _name, sql in triggers:
        db.session.execute(text(sql))


def _insert_facts(params: dict) -> None:
    """The assignments and progress rows, in two INSERT … SELECT statements."""
    db.session.execute(text(
        "INSERT INTO training_assignments (person_id, manual_id, since_edition_id, due_date, assigned_at) "
        "SELECT p.id, e.manual_id, e.id, CASE WHEN (p.id + e.manual_id) % 9 = 0 THEN :past ELSE :soon END, :now "
        "FROM people p CROSS JOIN manual_editions e "
        "JOIN (SELECT manual_id, max(number) AS n FROM manual_editions GROUP BY manual_id) l "
        "ON l.manual_id = e.manual_id AND l.n = e.number "
        "ORDER BY e.manual_id, p.id"), params)  # manual by manual, as publishing writes them
    # h = a stable spread per pair: 0-9 current, 10-11 old attestation, 12-13 attested edition 1,
    # 14-15 started only, 16-19 nothing yet.
    spread = "((p.id * 31 + e.manual_id * 17) % 20)"
    db.session.execute(text(
        "INSERT INTO training_progress (person_id, manual_id, attested_edition_id, attested_edition_number, "
        "attested_at, started_edition_number, updated_at) "
        f"SELECT p.id, e.manual_id, CASE WHEN {spread} < 12 THEN e.id END, "
        f"CASE WHEN {spread} < 12 THEN e.number WHEN {spread} < 14 THEN 1 END, "
        f"CASE WHEN {spread} < 10 THEN :recent WHEN {spread} < 12 THEN :old WHEN {spread} < 14 THEN :recent END, "
        "e.number, :now "
        "FROM people p CROSS JOIN manual_editions e "
        "JOIN (SELECT manual_id, max(number) AS n FROM manual_editions GROUP BY manual_id) l "
        f"ON l.manual_id = e.manual_id AND l.n = e.number WHERE {spread} < 16 "
        "ORDER BY (p.id * 7919 + e.manual_id * 104729) % 1000003"), params)  # in no useful order, as over time


def analyse() -> None:
    """Fresh planner statistics, as a maintained database would have."""
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
