"""Training statuses on SQLite and PostgreSQL, with 50,000 people × 50 manuals (200 departments):
what the department dashboard reads for one 250-person department × 50 manuals (counts per
manual and status, and who is behind), and the company-wide counts per department × manual ×
status that the organisation heat map and the daily completion pass use.

    .venv/bin/python bench/bench_training_status.py [--people 50000] [--departments 200] [--manuals 50]

Both read the materialised statuses (portal/training/status/stored.py): measured once right
after the settle, and again after 1% of the people changed their training since (their rows
pending, decided live). Targets: department page ≤ 50 ms; company-wide ≤ 500 ms. Each figure
is the median of several runs after one warm-up. Exit 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter

from training_synthetic import (
    analyse,
    bench_app,
    exit_cleanly_on_sigterm,
    fresh_database,
    insert_manuals,
    insert_people,
    insert_training,
    postgres_available,
)

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
    from sqlalchemy import func, select, text

    from portal.core.timeutil import utcnow
    from portal.dashboards.queries import department_summary
    from portal.extensions import db
    from portal.org.models import Person
    from portal.training.status import jst_today, manual_facts, rebuild, status_counts

    ok = True
    with fresh_database(backend) as url:
        app = bench_app(url)
        with app.app_context():
            today = jst_today()
            started = time.perf_counter()
            insert_people(people, departments)
            insert_manuals(manuals, today)
            insert_training(today)
            db.session.commit()
            print(f"{backend:<10} data: {people} people, {manuals} manuals, "
                  f"{people * manuals} assignments in {time.perf_counter() - started:.1f} s", flush=True)
            started = time.perf_counter()
            rows = rebuild(today, utcnow())
            analyse()
            print(f"{backend:<10} (for information) `portal training rebuild-status`: {rows} rows in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            department_id = db.session.scalar(select(Person.department_id).limit(1))
            headcount = db.session.scalar(select(func.count()).where(Person.department_id == department_id))
            for moment in ("settled", "1% changed"):
                if moment != "settled":
                    # A day's work since the settle: 1% of the people start or attest (their 50 rows go pending).
                    db.session.execute(text("UPDATE training_progress SET updated_at = updated_at "
                                            "WHERE person_id % 100 = 7"))
                    db.session.commit()
                    pending = db.session.scalar(text("SELECT count(*) FROM training_status_rows WHERE pending"))
                    print(f"{backend:<10} {pending} rows pending", flush=True)

                def page():
                    return department_summary(manual_facts(), today, [department_id])

                ms, (counts, behind) = _timed(page)
                spread = Counter({status: sum(c.by_status[status] for c in counts.values())
                                  for status in next(iter(counts.values())).by_status})
                ok &= _report(backend, f"{moment}: department page ({headcount} people × {len(counts)} manuals, "
                              f"{len(behind)} behind)", ms, PAGE_TARGET_MS, spread)
                ms, cells = _timed(lambda: status_counts(today, by_department=True), runs=5)
                totals = Counter()
                for (_dept, _manual, status), n in cells.items():
                    totals[status] += n
                ok &= _report(backend, f"{moment}: company-wide, department × manual × status "
                              f"({sum(totals.values())} pairs)", ms, COMPANY_TARGET_MS, totals)
            db.session.remove()
            db.engine.dispose()
    return ok


def _report(backend: str, label: str, ms: float, target: float, spread: Counter | None = None) -> bool:
    verdict = "ok" if ms <= target else "TOO SLOW"
    detail = f"  {dict(sorted(spread.items()))}" if spread else ""
    print(f"{backend:<10} {label}: {ms:8.1f} ms wall, {_cpu_ms:.1f} ms CPU in Python "
          f"({verdict}; target ≤ {target} ms; load average {os.getloadavg()[0]:.1f}){detail}", flush=True)
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
