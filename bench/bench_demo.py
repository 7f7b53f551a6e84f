"""Time `portal demo --people 50000 --departments 200` into a fresh SQLite file and a fresh
PostgreSQL database (created and dropped here). Target: well under a minute.

    .venv/bin/python bench/bench_demo.py [--people N] [--departments N]

PostgreSQL: PORTAL_BENCH_POSTGRES_URL, else PORTAL_TEST_POSTGRES_URL, else the local server;
skipped (said so) when it does not answer.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from databases import fresh_postgres  # noqa: E402 - bench/ is on sys.path when run as a script

PORTAL = Path(sys.executable).with_name("portal")
TARGET_SECONDS = 60


def _portal(database_url: str, *args: str) -> float:
    """Run one `portal` command against the database; return its wall-clock seconds."""
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench"}
    started = time.perf_counter()
    result = subprocess.run([str(PORTAL), *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"portal {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def _measure(label: str, database_url: str, people: int, departments: int) -> float:
    init = _portal(database_url, "init")
    demo = _portal(database_url, "demo", "--people", str(people), "--departments", str(departments))
    verdict = "ok" if demo < TARGET_SECONDS else "TOO SLOW"
    print(f"{label:<10} portal demo --people {people} --departments {departments}: {demo:6.1f} s "
          f"({verdict}; target < {TARGET_SECONDS} s; migrations took {init:.1f} s)", flush=True)
    return demo


def bench_sqlite(people: int, departments: int) -> float:
    """A fresh SQLite file in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        return _measure("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", people, departments)


def bench_postgres(people: int, departments: int) -> float | None:
    """A fresh PostgreSQL database, dropped afterwards."""
    with fresh_postgres() as url:
        return None if url is None else _measure("PostgreSQL", url, people, departments)


def main() -> int:
    """Measure both backends; exit 1 when one misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50000)
    parser.add_argument("--departments", type=int, default=200)
    args = parser.parse_args()
    figures = [bench_sqlite(args.people, args.departments), bench_postgres(args.people, args.departments)]
    return 0 if all(f is None or f < TARGET_SECONDS for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
