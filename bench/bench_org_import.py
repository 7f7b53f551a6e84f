"""Time `portal org import` of a large HR export (50,000 people, 200 departments, CP932) into a
fresh SQLite file and a fresh PostgreSQL database: the first import, an unchanged re-run, a dry
run and a run that changes 1% of the people and deactivates 1% missing from the file.
Targets: first import < 60 s; each later run < 20 s.

    .venv/bin/python bench/bench_org_import.py [--people N] [--departments N]

PostgreSQL: PORTAL_BENCH_POSTGRES_URL, else PORTAL_TEST_POSTGRES_URL, else the local server;
skipped (said so) when it does not answer.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from databases import fresh_postgres  # noqa: E402 - bench/ is on sys.path when run as a script

from portal.demo.organisation import large_rows  # noqa: E402
from portal.org.hr_csv import HR_COLUMNS  # noqa: E402

PORTAL = Path(sys.executable).with_name("portal")
FIRST_TARGET, LATER_TARGET = 60, 20


def _export(rows, path: Path) -> None:
    """Write rows as an HR export in CP932, as Japanese HR systems produce it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HR_COLUMNS)
    for r in rows:
        writer.writerow([r.employee_no, r.name, r.name_kana, r.email, r.department_code, r.department_name,
                         r.department_kind, " ".join(sorted(r.roles)), " ".join(r.manages),
                         "true" if r.active else "false"])
    path.write_bytes(buffer.getvalue().encode("cp932"))


def _portal(database_url: str, *args: str) -> tuple[float, str]:
    """Run one `portal` command against the database; return its seconds and its output."""
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench"}
    started = time.perf_counter()
    result = subprocess.run([str(PORTAL), *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"portal {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return elapsed, result.stdout


def _measure(label: str, database_url: str, folder: Path, people: int, departments: int) -> bool:
    rows = large_rows(people, departments)
    first, changed = folder / "first.csv", folder / "changed.csv"
    _export(rows, first)
    step = 100  # 1% renamed, 1% left out of the second file
    second = [r.__class__(**{**r.__dict__, "name": r.name + "改"}) if i % step == 1 else r
              for i, r in enumerate(rows) if i % step != 2]
    _export(second, changed)
    _portal(database_url, "init")
    runs = [
        ("first import", FIRST_TARGET, ("org", "import", str(first), "--encoding", "cp932")),
        ("unchanged re-run", LATER_TARGET, ("org", "import", str(first), "--encoding", "cp932")),
        ("dry run, 2% differ", LATER_TARGET, ("org", "import", str(changed), "--encoding", "cp932", "--dry-run")),
        ("1% changed, 1% deactivated", LATER_TARGET,
         ("org", "import", str(changed), "--encoding", "cp932", "--deactivate-missing")),
    ]
    ok = True
    for name, target, args in runs:
        seconds, _output = _portal(database_url, *args)
        verdict = "ok" if seconds < target else "TOO SLOW"
        ok &= seconds < target
        print(f"{label:<10} {name:<28} {people} people: {seconds:6.1f} s ({verdict}; target < {target} s)", flush=True)
    return ok


def bench_sqlite(people: int, departments: int) -> bool:
    """A fresh SQLite file in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        return _measure("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", Path(folder), people, departments)


def bench_postgres(people: int, departments: int) -> bool:
    """A fresh PostgreSQL database, dropped afterwards."""
    with fresh_postgres() as url, tempfile.TemporaryDirectory() as folder:
        return True if url is None else _measure("PostgreSQL", url, Path(folder), people, departments)


def main() -> int:
    """Measure both backends; exit 1 when a run misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50000)
    parser.add_argument("--departments", type=int, default=200)
    args = parser.parse_args()
    ok = bench_sqlite(args.people, args.departments)
    ok &= bench_postgres(args.people, args.departments)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
