"""Training statuses: one 250-person department × 50 manuals (a page), and 50,000 people ×
50 manuals (company-wide summary), on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_training_status.py [--people 50000] [--departments 200] [--manuals 50]

Targets: department page ≤ 50 ms; company-wide ≤ 500 ms. Each figure is the median of
several runs after one warm-up. Exit 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter

from training_synthetic import (analyse, bench_app, exit_cleanly_on_sigterm, fresh_database, insert_manuals,
                                insert_people, insert_training, postgres_available)

PAGE_TARGET_MS = 50
COMPANY_TARGET_MS = 500


def _timed(function, runs: int = 5) -> tuple[float, object]:
    """Median wall-clock ms after a warm-up; the median CPU ms of this process goes to _cpu_ms."""
    global _cpu_ms
    function()  # warm-up: caches, statement compilation
    times, cpu, result = [], [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    _cpu_ms = statistics.median(cpu)
    return statistics.median(times), result


_cpu_ms = 0.0


def run(backend: str, people: int, departments: int, manuals: int) -> bool:
    """Build the data set in a fresh database and print the timings; True when on target."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.org.models import Person
    from portal.training.queries import department_status_rows, statuses_for
    from portal.training.sql_rule import status_counts
    from portal.training.status import jst_today

    ok = True
    with fresh_database(backend) as url:
        app = bench_app(url)
        with app.app_context():
            today = jst_today()
            started = time.perf_counter()
            insert_people(people, departments)
            insert_manuals(manuals, today)
            insert_training(today)
            analyse()
            print(f"{backend:<10} data: {people} people, {manuals} manuals, "
                  f"{people * manuals} assignments in {time.perf_counter() - started:.1f} s", flush=True)
            department_id = db.session.scalar(select(Person.department_id).limit(1))
            headcount = db.session.scalar(select(func.count()).where(Person.department_id == department_id))
            ids = db.session.scalars(select(Person.id).where(Person.department_id == department_id)).all()

            ms, rows = _timed(lambda: department_status_rows([department_id], None, today))
            ok &= _report(backend, f"department page ({headcount} people × {manuals} manuals, {len(rows)} pairs)",
                          ms, PAGE_TARGET_MS, Counter(row.status for row in rows))
            ms, pairs = _timed(lambda: statuses_for(ids, None, today))
            ok &= _report(backend, f"statuses_for({len(ids)} ids, all manuals)", ms, PAGE_TARGET_MS)

            ms, counts = _timed(lambda: status_counts(today), runs=2)
            totals = Counter()
            for (_dept, _manual, status), n in counts.items():
                totals[status] += n
            ok &= _report(backend, f"company summary by manual ({sum(totals.values())} pairs)", ms,
                          COMPANY_TARGET_MS, totals)
            ms, counts = _timed(lambda: status_counts(today, by_department=True), runs=2)
            ok &= _report(backend, f"company summary by department × manual ({len(counts)} cells)", ms,
                          COMPANY_TARGET_MS)
            db.session.remove()
            db.engine.dispose()
    return ok


def _report(backend: str, label: str, ms: float, target: float, spread: Counter | None = None) -> bool:
    verdict = "ok" if ms <= target else "TOO SLOW"
    detail = f"  {dict(sorted(spread.items()))}" if spread else ""
    print(f"{backend:<10} {label}: {ms:8.1f} ms wall, {_cpu_ms:.1f} ms CPU in Python "
          f"({verdict}; target ≤ {target} ms){detail}", flush=True)
    return ms <= target


def main() -> int:
    """Run on SQLite, then PostgreSQL when it answers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--departments", type=int, default=200)
    parser.add_argument("--manuals", type=int, default=50)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    ok = True
    if args.backend in ("sqlite", "both"):
        ok &= run("sqlite", args.people, args.departments, args.manuals)
    if args.backend in ("postgres", "both"):
        if postgres_available():
            ok &= run("postgres", args.people, args.departments, args.manuals)
        else:
            print("postgres   SKIPPED: the PostgreSQL server does not answer", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
