"""Dashboards under gunicorn on the 50,000-person organisation (200 departments × 50 manuals), SQLite
and PostgreSQL: a manager's department page (250 people × 50 manuals) and the organisation heat map.

    .venv/bin/python bench/bench_dashboards.py [--people 50000] [--departments 200] [--manuals 50]
                                               [--backend sqlite|postgres|both] [--runs 100]

Targets: department page p95 ≤ 100 ms; organisation heat map p95 ≤ 300 ms. The heat map counts as of
now from the training-status engine's counts; the daily pass (`portal dashboards snapshot`: settle,
and the trend's snapshot) runs once first, and the time it takes is printed for information.
Exit 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from served import Browser, gunicorn, percentile
from training_synthetic import (
    analyse,
    bench_app,
    fresh_database,
    insert_manuals,
    insert_people,
    insert_training,
    postgres_available,
)

DEPARTMENT_TARGET_MS = 100
ORGANISATION_TARGET_MS = 300
PASSWORD = "bench-password-2026"


def _prepare(people: int, departments: int, manuals: int) -> tuple[int, int]:
    """Data, a manager of one department and a training admin; returns (department id, headcount)."""
    from sqlalchemy import func, insert, select, update

    from portal.auth.passwords import hash_password
    from portal.core.timeutil import utcnow
    from portal.dashboards.services import refresh_completion
    from portal.extensions import db
    from portal.org.models import Person, PersonRole, department_managers
    from portal.training.status import jst_today

    today = jst_today()
    started = time.perf_counter()
    insert_people(people, departments)
    insert_manuals(manuals, today)
    insert_training(today)
    department_id = db.session.scalar(select(Person.department_id).order_by(Person.id).limit(1))
    manager_id, admin_id = db.session.scalars(select(Person.id).where(Person.department_id == department_id)
                                              .order_by(Person.id).limit(2)).all()
    db.session.execute(update(Person).where(Person.id.in_([manager_id, admin_id]))
                       .values(password_hash=hash_password(PASSWORD)))
    db.session.execute(insert(PersonRole), [{"person_id": manager_id, "role": "manager"},
                                            {"person_id": admin_id, "role": "training_admin"}])
    db.session.execute(insert(department_managers), [{"person_id": manager_id, "department_id": department_id}])
    analyse()
    headcount = db.session.scalar(select(func.count()).where(Person.department_id == department_id))
    print(f"  data: {people} people, {departments} departments, {manuals} manuals in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    cells = refresh_completion(today, utcnow())
    db.session.commit()
    print(f"  (for information) organisation pass, `portal dashboards snapshot`: {cells} cells in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    # The first pass settled every row at once (a rebuild): without fresh statistics PostgreSQL's planner
    # still believes them all stale and the heat map reads ~0.5 s until autovacuum analyses the table.
    analyse()
    return department_id, headcount


def _numbers(db_session) -> tuple[str, str]:
    from sqlalchemy import select

    from portal.org.models import Person, PersonRole

    manager = db_session.scalar(select(Person.employee_no).join(PersonRole).where(PersonRole.role == "manager"))
    admin = db_session.scalar(select(Person.employee_no).join(PersonRole).where(PersonRole.role == "training_admin"))
    return manager, admin


def _report(backend: str, label: str, times: list[float], target: float) -> bool:
    p95 = percentile(times, 0.95)
    verdict = "ok" if p95 <= target else "TOO SLOW"
    print(f"{backend:<10} {label}: p50 {statistics.median(times):6.1f} ms, p95 {p95:6.1f} ms "
          f"({verdict}; target p95 ≤ {target} ms; {len(times)} requests)", flush=True)
    return p95 <= target


def run(backend: str, people: int, departments: int, manuals: int, runs: int) -> bool:
    """Build the organisation in a fresh database, serve it with gunicorn, time the pages."""
    from portal.extensions import db

    print(f"{backend}:", flush=True)
    with fresh_database(backend) as url:
        app = bench_app(url)
        with app.app_context():
            department_id, headcount = _prepare(people, departments, manuals)
            manager_no, admin_no = _numbers(db.session)
            db.session.remove()
            db.engine.dispose()
        ok = True
        with gunicorn(url, workers=2) as base:
            manager = Browser(base)
            manager.sign_in(manager_no, PASSWORD)
            times = manager.timed(f"/dashboards/departments/{department_id}", runs)
            ok &= _report(backend, f"department page ({headcount} people × {manuals} manuals)", times,
                          DEPARTMENT_TARGET_MS)
            export = manager.timed(f"/dashboards/departments/{department_id}/export.xlsx", 10, warmup=1)
            print(f"{backend:<10} (for information) department XLSX export: p50 {statistics.median(export):6.1f} ms",
                  flush=True)
            admin = Browser(base)
            admin.sign_in(admin_no, PASSWORD)
            times = admin.timed("/dashboards/organisation", max(runs // 2, 10))
            ok &= _report(backend, f"organisation heat map ({departments} departments × {manuals} manuals)", times,
                          ORGANISATION_TARGET_MS)
    return ok


def main() -> int:
    """Run on SQLite, then PostgreSQL when it answers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--departments", type=int, default=200)
    parser.add_argument("--manuals", type=int, default=50)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    ok = True
    if args.backend in ("sqlite", "both"):
        ok &= run("sqlite", args.people, args.departments, args.manuals, args.runs)
    if args.backend in ("postgres", "both"):
        if postgres_available():
            ok &= run("postgres", args.people, args.departments, args.manuals, args.runs)
        else:
            print("postgres   SKIPPED: the PostgreSQL server does not answer", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
