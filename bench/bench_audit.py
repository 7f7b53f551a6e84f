"""The audit trail at scale, on SQLite and PostgreSQL: a trail of 200,000 events is built, then

  - `portal audit verify` streams it in batches     target: >= 20,000 events/s
  - one more event is appended through the service  target: < 50 ms
  - the filtered list page (an action, a JST date range) target: < 500 ms
  - a CSV export of the whole trail streams          target: >= 10,000 rows/s

    .venv/bin/python bench/bench_audit.py [--events N]

PostgreSQL: PORTAL_BENCH_POSTGRES_URL, else PORTAL_TEST_POSTGRES_URL, else the local server;
skipped (said so) when it does not answer.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's portal package

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGETS = {"verify": 20_000, "append_ms": 50, "page_ms": 500, "export": 10_000}
ACTIONS = ("auth.login", "auth.login_failed", "org.roles_changed", "org.imported", "grant.approved")


def _build_trail(count: int) -> None:
    """Insert a valid chain of `count` events directly (fast), hashed exactly as the service does."""
    from portal.audit.chain import GENESIS_HASH, event_hash
    from portal.audit.models import AuditEvent
    from portal.extensions import db

    previous, rows = GENESIS_HASH, []
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for seq in range(1, count + 1):
        fields = {"seq": seq, "occurred_at": start + timedelta(seconds=seq * 60), "actor_id": None,
                  "actor_label": f"E{seq % 5000:05d}", "action": ACTIONS[seq % len(ACTIONS)],
                  "object_type": "person", "object_id": f"E{seq % 7000:05d}",
                  "reason": f"理由 {seq}\r\n二行目", "details": {"n": seq}, "source": "10.0.0.1", "prev_hash": previous}
        previous = event_hash(fields)
        rows.append({**{k: v for k, v in fields.items() if k != "details"},
                     "details_json": f'{{"n": {seq}}}', "hash": previous})
        if len(rows) == 10_000:
            db.session.execute(insert(AuditEvent.__table__), rows)
            rows = []
    if rows:
        db.session.execute(insert(AuditEvent.__table__), rows)
    db.session.commit()
    # A live trail grows slowly and autovacuum keeps its statistics; a bulk-loaded one has none
    # yet, and PostgreSQL would then plan each keyset batch as a scan of the whole remaining range.
    db.session.execute(text("ANALYZE audit_events"))
    db.session.commit()


def _signed_in_client(app):
    from portal.auth.passwords import hash_password
    from portal.extensions import db
    from portal.org.models import Department, Person, PersonRole

    department = Department(code="B1", name_ja="監査部")
    person = Person(employee_no="BENCH1", name="監査 太郎", department=department,
                    password_hash=hash_password("bench-password-1"))
    person.role_rows = [PersonRole(role="auditor")]
    db.session.add(person)
    db.session.commit()
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login",
                           data={"employee_no": "BENCH1", "password": "bench-password-1", "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def _line(label: str, figure: str, ok: bool, target: str) -> bool:
    print(f"  {label:<44} {figure:>16}  ({'ok' if ok else 'TOO SLOW'}; target {target})", flush=True)
    return ok


def measure(label: str, url: str, events: int) -> bool:
    """Build, verify, append, page and export on one database; True when every target is met."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.audit.services import record_event
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    ok = True
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        _build_trail(events)
        print(f"{label}: built a trail of {events:,} events in {time.perf_counter() - started:.1f} s", flush=True)

        started = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["audit", "verify"])
        rate = events / (time.perf_counter() - started)
        assert result.exit_code == 0, result.output
        ok &= _line("portal audit verify", f"{rate:,.0f} events/s", rate >= TARGETS["verify"],
                    f">= {TARGETS['verify']:,} events/s")

        started = time.perf_counter()
        record_event(None, "bench.append", reason="one more")
        db.session.commit()
        append_ms = (time.perf_counter() - started) * 1000
        ok &= _line("append one event (service + commit)", f"{append_ms:.1f} ms", append_ms < TARGETS["append_ms"],
                    f"< {TARGETS['append_ms']} ms")

        client = _signed_in_client(app)
        query = {"action": "org.*", "date_from_year": "2026", "date_from_month": "3", "date_from_day": "1",
                 "date_to_year": "2026", "date_to_month": "3", "date_to_day": "31"}
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get("/audit/", query_string=query)
            response.get_data()
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        page_ms = min(timings)
        ok &= _line("list page, filtered (best of 3)", f"{page_ms:.0f} ms", page_ms < TARGETS["page_ms"],
                    f"< {TARGETS['page_ms']} ms")

        started = time.perf_counter()
        response = client.get("/audit/export.csv")
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        rate = events / (time.perf_counter() - started)
        ok &= _line(f"CSV export ({size / 2**20:.0f} MiB)", f"{rate:,.0f} rows/s", rate >= TARGETS["export"],
                    f">= {TARGETS['export']:,} rows/s")
        db.session.remove()
        db.engine.dispose()
    return ok


def _postgres_url() -> str | None:
    base = os.environ.get("PORTAL_BENCH_POSTGRES_URL") or os.environ.get("PORTAL_TEST_POSTGRES_URL") or DEFAULT_POSTGRES
    try:
        engine = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return base
    except Exception as error:  # noqa: BLE001 - any failure means "no server here"
        print(f"PostgreSQL: not measured ({type(error).__name__}: no server answers at {base})")
        return None


def main() -> int:
    """Measure on SQLite, then on PostgreSQL when a server answers; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        ok &= measure("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", args.events)
    base = _postgres_url()
    if base:
        name = f"portal_bench_audit_{uuid.uuid4().hex[:8]}"
        admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            ok &= measure("PostgreSQL", make_url(base).set(database=name).render_as_string(hide_password=False),
                          args.events)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
