"""Publish a material manual edition to 50,000 people on SQLite and on PostgreSQL. Target: ≤ 5 s each.

    .venv/bin/python bench/bench_manuals_publish.py [--people N] [--departments N]

The organisation is the large demo (portal.demo.organisation.large_rows through `portal demo --people`).
Then, in one process: publish edition 1 (material: everyone assigned), edition 2 (material: everyone
sent back, an upsert of every row), edition 3 (minor: nobody's due date moves), and re-publish unchanged.
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
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PORTAL = Path(sys.executable).with_name("portal")
TARGET_SECONDS = 5.0

BODY = "# ベンチマーク用マニュアル\n\n" + "\n".join(
    f"## 第{i}条 {{#article-{i}}}\n\nコラボ事業者の契約者情報は、業務の目的の範囲でのみ閲覧する。第{i}条の規定。\n"
    for i in range(1, 21))


def _manual(edition: int, kind: str, summary: str = "") -> str:
    summary_yaml = f"change_summary:\n  ja: {summary}\n" if summary else ""
    return (f"---\nslug: bench-manual\ntitle:\n  ja: ベンチマーク\n  en: Benchmark\nedition: {edition}\n"
            f"effective_date: 2026-04-01\nchange_kind: {kind}\n{summary_yaml}audience: everyone\n"
            "days_allowed: 30\nvalidity_months: 12\nquiz: bench-manual.yaml\nstatement:\n  ja: 理解しました。\n"
            f"---\n{BODY}\n第{edition}版。\n")


QUIZ = """manual: bench-manual
pass_mark: 1
draw: 1
questions:
  - id: q1
    section: article-1
    kind: true_false
    text: {ja: 目的の範囲でのみ閲覧する。}
    correct: true
"""


def _portal(database_url: str, *args: str) -> None:
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench"}
    result = subprocess.run([str(PORTAL), *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"portal {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def _measure(label: str, database_url: str, people: int, departments: int) -> bool:
    from portal import create_app
    from portal.extensions import db
    from portal.manuals.assignments import today_jst
    from portal.manuals.models import TrainingAssignment
    from portal.manuals.services import publish_from_repository

    started = time.perf_counter()
    _portal(database_url, "init")
    _portal(database_url, "demo", "--people", str(people), "--departments", str(departments))
    print(f"{label:<10} organisation of {people} people loaded in {time.perf_counter() - started:.0f} s", flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        manuals, quizzes = Path(folder) / "manuals", Path(folder) / "quizzes"
        manuals.mkdir(), quizzes.mkdir()
        (quizzes / "bench-manual.yaml").write_text(QUIZ, encoding="utf-8")
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench"})
        with app.app_context():
            steps = [(1, "material", "", "edition 1 (material, first)"),
                     (2, "material", "改訂", "edition 2 (material, everyone back)"),
                     (3, "minor", "誤字", "edition 3 (minor)"),
                     (3, "minor", "誤字", "same files again (nothing)")]
            for number, kind, summary, what in steps:
                (manuals / "bench-manual.md").write_text(_manual(number, kind, summary), encoding="utf-8")
                began = time.perf_counter()
                _plan, editions = publish_from_repository(None, manuals, quizzes, today_jst())
                db.session.commit()
                elapsed = time.perf_counter() - began
                assigned = db.session.scalar(select(func.count()).select_from(TrainingAssignment))
                target = kind == "material" and editions
                verdict = ("ok" if elapsed <= TARGET_SECONDS else "TOO SLOW") if target else "info"
                ok &= verdict != "TOO SLOW"
                print(f"{label:<10} publish {what}: {elapsed:6.2f} s, {len(editions)} edition(s), "
                      f"{assigned} assignments ({verdict}" + (f"; target ≤ {TARGET_SECONDS:.0f} s)" if target else ")"),
                      flush=True)
            db.session.remove()
            db.engine.dispose()
    return ok


def bench_sqlite(people: int, departments: int) -> bool:
    """A fresh SQLite file in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        return _measure("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", people, departments)


def bench_postgres(people: int, departments: int) -> bool:
    """A fresh PostgreSQL database, dropped afterwards."""
    with fresh_postgres() as url:
        return True if url is None else _measure("PostgreSQL", url, people, departments)


def main() -> int:
    """Measure both backends; exit 1 when a material publish misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50000)
    parser.add_argument("--departments", type=int, default=200)
    args = parser.parse_args()
    ok = bench_sqlite(args.people, args.departments)
    ok &= bench_postgres(args.people, args.departments)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
