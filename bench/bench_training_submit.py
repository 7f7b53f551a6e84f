"""200 quiz submissions at once against the portal under gunicorn, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_training_submit.py [--people 200] [--workers 4] [--threads 8]

Each of 200 people signs in, starts the quiz and opens it like a browser; then all 200 submit in
the same instant (threads released by a barrier). Then one submission is replayed 50 times at
once. Afterwards the database is counted: every person has exactly one graded attempt.
Targets: 0 errors, 0 duplicates, p95 ≤ 300 ms. Exit 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from argon2 import PasswordHasher
from training_synthetic import bench_app, exit_cleanly_on_sigterm, fresh_database, postgres_available

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
PASSWORD = "bench-password-2026"
P95_TARGET_MS = 300
REPLAYS = 50
SLUG = "bench-quiz"


class Browser:
    """One person's keep-alive connection with their session cookie."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""

    def send(self, method: str, path: str, fields: dict | None = None) -> tuple[int, dict, str]:
        """One request; keeps the session cookie the portal sets."""
        headers = {"Cookie": f"portal_session={self.cookie}"} if self.cookie else {}
        body = urlencode(fields, doseq=True) if fields is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.connection.close()  # the server closed an idle keep-alive connection: open a new one
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("portal_session="):
                self.cookie = header.split(";", 1)[0].split("=", 1)[1]
        return response.status, response.headers, text

    def token(self, path: str) -> str:
        """The CSRF token of a page."""
        _status, _headers, text = self.send("GET", path)
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', text).group(1)


def _spec() -> dict:
    questions = []
    for n in range(8):
        questions.append({"id": f"q{n}", "section": f"s{n % 4}", "kind": "single",
                          "text": {"ja": f"設問{n}", "en": f"Question {n}"},
                          "choices": [{"id": c, "ja": f"選択肢{c}", "en": c} for c in "abcd"],
                          "correct": ["abcd"[n % 4]], "explanation": {"ja": "解説", "en": "why"}})
    return {"pass_mark": 5, "draw": 6, "shuffle": True, "attempts_allowed": 0, "wait_minutes": 0,
            "time_limit_minutes": 15, "retrain": "full", "questions": questions}


def prepare(url: str, people: int) -> None:
    """People (cheap password hashes: sign-in speed is not what is measured), a manual, a quiz, assignments."""
    from datetime import timedelta

    from sqlalchemy import insert, select

    from portal.extensions import db
    from portal.manuals.models import Manual, ManualEdition, QuizVersion, TrainingAssignment
    from portal.org.models import Department, Person
    from portal.training.status import jst_today

    app = bench_app(url)
    with app.app_context():
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
        department = Department(code="BENCH", name_ja="ベンチ部", name_en="Bench")
        db.session.add(department)
        db.session.flush()
        db.session.execute(insert(Person), [
            {"employee_no": f"B{n:05d}", "name": f"受講者{n}", "name_kana": "", "email": "", "department_id": department.id,
             "active": True, "password_hash": cheap, "session_version": 1, "locale": ""} for n in range(people)])
        manual = Manual(slug=SLUG, title_ja="ベンチ用マニュアル", title_en="Bench manual")
        db.session.add(manual)
        db.session.flush()
        spec_json = json.dumps(_spec(), ensure_ascii=False)
        quiz = QuizVersion(manual_id=manual.id, content_hash="b" * 64, source_yaml="# bench", spec_json=spec_json)
        db.session.add(quiz)
        db.session.flush()
        sections = [{"id": f"s{n}", "title": f"節{n}", "level": 2, "text": "本文", "hash": str(n)} for n in range(4)]
        edition = ManualEdition(manual_id=manual.id, number=1, change_kind="material", effective_date=jst_today(),
                                source_text="# bench", content_hash="c" * 64, html="<p>本文</p>",
                                sections_json=json.dumps(sections, ensure_ascii=False), quiz_version_id=quiz.id)
        db.session.add(edition)
        db.session.flush()
        ids = db.session.scalars(select(Person.id)).all()
        db.session.execute(insert(TrainingAssignment), [
            {"person_id": i, "manual_id": manual.id, "since_edition_id": edition.id,
             "due_date": jst_today() + timedelta(days=30)} for i in ids])
        db.session.commit()
        db.engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(url: str, workers: int, threads: int) -> tuple[subprocess.Popen, int]:
    """The portal under gunicorn (gthread workers) on a free port; rate limits off for the sign-ins."""
    port = _free_port()
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench-secret", "PORTAL_INSECURE_HTTP": "1"}
    process = subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "gthread",
         "--threads", str(threads), "--backlog", "2048", "--keep-alive", "300", "--log-level", "warning",
         'portal:create_app({"RATELIMIT_ENABLED": False})'],
        cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def _answers(url: str) -> dict[str, dict]:
    """{attempt id: form fields} — every other person answers one question wrong."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.training.models import QuizAttempt

    app = bench_app(url)
    fields = {}
    with app.app_context():
        for attempt in db.session.scalars(select(QuizAttempt)):
            key = {q["id"]: q["correct"] for q in attempt.quiz_version.spec["questions"]}
            posted = {}
            for index, drawn in enumerate(attempt.drawn):
                right = key[drawn["id"]]
                wrong = attempt.id % 2 == 0 and index < 2  # two wrong of six: below the pass mark of 5
                posted[f"answer-{drawn['id']}"] = [c for c in drawn["choices"] if c not in right][:1] if wrong else right
            fields[str(attempt.id)] = posted
        db.engine.dispose()
    return fields


def _parallel(count: int, job) -> list:
    results = [None] * count
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, job(i))) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def run(backend: str, people: int, workers: int, threads: int) -> bool:
    """Build, serve, burst, replay, count; print the figures; True when on target."""
    with fresh_database(backend) as url:
        prepare(url, people)
        process, port = start_gunicorn(url, workers, threads)
        try:
            ready = _parallel(people, lambda i: _ready(port, i))
            fields = _answers(url)
            barrier = threading.Barrier(people)

            def submit(i: int):
                browser, attempt_id, token = ready[i]
                barrier.wait()
                started = time.perf_counter()
                status, _headers, _text = browser.send("POST", f"/training/attempts/{attempt_id}",
                                                       {**fields[str(attempt_id)], "csrf_token": token})
                return status, (time.perf_counter() - started) * 1000

            started = time.perf_counter()
            burst = _parallel(people, submit)
            wall = time.perf_counter() - started
            replay_from, replay_attempt, replay_token = ready[0]
            replay_barrier = threading.Barrier(REPLAYS)

            def replay(_i: int):
                browser = Browser(port)
                browser.cookie = replay_from.cookie
                replay_barrier.wait()
                status, _headers, _text = browser.send("POST", f"/training/attempts/{replay_attempt}",
                                                       {**fields[str(replay_attempt)], "csrf_token": replay_token})
                return status

            replays = _parallel(REPLAYS, replay)
        finally:
            process.terminate()
            process.wait(timeout=30)
        counts = _count(url)
    latencies = sorted(ms for _status, ms in burst)
    p50 = statistics.median(latencies)
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    errors = sum(1 for status, _ms in burst if status != 303) + sum(1 for status in replays if status != 409)
    duplicates = counts["attempts"] - counts["people_with_attempts"] + counts["people_graded_twice"]
    ok = errors == 0 and duplicates == 0 and counts["graded"] == people and p95 <= P95_TARGET_MS
    print(f"{backend:<10} {people} submissions at once (gunicorn {workers} workers × {threads} threads): "
          f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms, all done in {wall * 1000:.0f} ms; "
          f"errors {errors}, duplicates {duplicates}; graded attempts in the database {counts['graded']} "
          f"(passed {counts['passed']}, failed {counts['failed']}); {REPLAYS} concurrent replays → "
          f"{sum(1 for s in replays if s == 409)}×409 — {'ok' if ok else 'MISSED'} (target p95 ≤ {P95_TARGET_MS} ms)",
          flush=True)
    return ok


def _ready(port: int, index: int) -> tuple[Browser, int, str]:
    """Sign in, start the quiz, open it: returns (browser, attempt id, the quiz page's CSRF token)."""
    browser = Browser(port)
    token = browser.token("/login")
    status, _headers, _text = browser.send("POST", "/login", {"employee_no": f"B{index:05d}", "password": PASSWORD,
                                                              "csrf_token": token})
    assert status == 302, f"sign-in failed: {status}"
    token = browser.token(f"/training/manuals/{SLUG}")
    status, headers, _text = browser.send("POST", f"/training/manuals/{SLUG}/attempts", {"csrf_token": token})
    attempt_id = int(re.search(r"/training/attempts/(\d+)$", headers["Location"]).group(1))
    return browser, attempt_id, browser.token(f"/training/attempts/{attempt_id}")


def _count(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.training.models import QuizAttempt

    app = bench_app(url)
    with app.app_context():
        scalar = db.session.scalar
        per_person = select(QuizAttempt.person_id).where(QuizAttempt.submitted_at.is_not(None)) \
            .group_by(QuizAttempt.person_id).having(func.count() > 1).subquery()
        counts = {
            "attempts": scalar(select(func.count()).select_from(QuizAttempt)),
            "people_with_attempts": scalar(select(func.count(func.distinct(QuizAttempt.person_id)))),
            "people_graded_twice": scalar(select(func.count()).select_from(per_person)),
            "graded": scalar(select(func.count()).where(QuizAttempt.outcome.in_(("passed", "failed")))),
            "passed": scalar(select(func.count()).where(QuizAttempt.outcome == "passed")),
            "failed": scalar(select(func.count()).where(QuizAttempt.outcome == "failed")),
        }
        db.engine.dispose()
    return counts


def main() -> int:
    """SQLite, then PostgreSQL when it answers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    ok = True
    if args.backend in ("sqlite", "both"):
        ok &= run("sqlite", args.people, args.workers, args.threads)
    if args.backend in ("postgres", "both"):
        if postgres_available():
            ok &= run("postgres", args.people, args.workers, args.threads)
        else:
            print("postgres   SKIPPED: the PostgreSQL server does not answer", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
