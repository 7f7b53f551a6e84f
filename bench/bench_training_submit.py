"""200 quiz submissions at once against the portal under gunicorn, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_training_submit.py [--people 200] [--workers 4] [--threads 1] [--worker-class gthread]
                                                    [--backend sqlite|postgres|both]

Targets: 0 errors, 0 duplicates, p95 ≤ 300 ms. Exit 1 when a target is missed. How it runs, and why:

- The server runs as README's production section deploys it on the 2-core reference machine: the
  repository's gunicorn.conf.py (each worker on its own SO_REUSEPORT socket), 4 gthread workers
  with one thread each, rate limits on. Four single-threaded processes keep both cores busy while
  some requests wait on PostgreSQL (each submission makes 5 round trips and waits for its
  commit); 2 workers × 4 threads used the same CPU per submission but left the cores 6–25% idle
  during the burst (threads of one process waiting on each other for Python's lock), against
  3–6% here. More than one worker needs the sign-in throttle's counts shared:
  PORTAL_RATELIMIT_STORAGE_URI=redis://… is set when a Redis server answers
  (PORTAL_BENCH_REDIS_URL, default redis://127.0.0.1:6379/0, keys under a prefix of this run);
  otherwise each worker counts in memory, and the output says so. (`make run` serves one worker ×
  8 threads because a demo has no Redis.)
- Each person signs in through the form, starts the quiz and opens it, on a keep-alive connection
  (a browser, or a reverse proxy's upstream connection). Then a few more people (8 per worker)
  submit first, uncounted, so every worker has served the route before, as a running server has
  (compiled SQL, prepared statements).
- Then all 200 submit at once: one client thread opens 200 new connections and writes the 200
  prepared requests back to back (a few ms from first to last), then reads the responses as they
  arrive. Each latency runs from its request's connect to its full response (303), so
  p50/p95/max cover the 200 submissions only. Then one submission is replayed 50× at once
  (threads released by a barrier; each must get 409), and the database is counted: every person
  has exactly one graded attempt.
- The client shares the 2 cores (one thread, so it takes little). The CPU the server used during
  the burst (each gunicorn worker, and PostgreSQL's backends when the server runs on this machine)
  is read from /proc and printed per submission, next to the client's and the load average: on a
  busy machine the latencies are only as good as the idle CPU, while CPU per submission is what
  the portal costs. 200 submissions in 300 ms on 2 cores leave ≈ 3 ms of CPU for each, everything
  included.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import selectors
import socket
import statistics
import sys
import threading
import time
import uuid
from urllib.parse import urlencode

from argon2 import PasswordHasher
from served import cpu_seconds, machine_cpu, machine_cpu_shares, serve
from training_synthetic import bench_app, exit_cleanly_on_sigterm, fresh_database, postgres_available

PASSWORD = "bench-password-2026"
P95_TARGET_MS = 300
REPLAYS = 50
SLUG = "bench-quiz"
WARMUP_PER_WORKER = 8
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


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

    def prepared_post(self, path: str, fields: dict) -> tuple[tuple[str, int], bytes]:
        """The server's address and the exact bytes of this browser's form POST, to fire later."""
        body = urlencode(fields, doseq=True).encode("ascii")
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.connection.host}:{self.connection.port}\r\n"
                f"Cookie: portal_session={self.cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        return (self.connection.host, self.connection.port), head.encode("latin-1") + body


def fire(requests: list[tuple[tuple[str, int], bytes]]) -> list[tuple[int, float]]:
    """Send every request at once from one thread, then read the responses as they come: (status, ms) each.

    Each request opens its own connection, as a browser coming back after minutes on the quiz page
    would (gunicorn keeps idle connections 2 s), so the workers share the burst as they accept it.
    One thread with a selector, not one thread per request: the client then costs little of the
    CPU it shares with the server, and each time runs from that request's connect to its response.
    """
    selector = selectors.DefaultSelector()
    results: list[tuple[int, float]] = [(0, 0.0)] * len(requests)
    received: dict[int, bytes] = {}
    sent_at: dict[int, float] = {}
    for index, (address, payload) in enumerate(requests):
        sent_at[index] = time.perf_counter()
        sock = socket.create_connection(address, timeout=120)
        sock.sendall(payload)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, index)
        received[index] = b""
    deadline = time.monotonic() + 120
    while received and time.monotonic() < deadline:
        for key, _events in selector.select(timeout=1):
            index = key.data
            chunk = key.fileobj.recv(65536)
            buffer = received[index] = received[index] + chunk
            end = buffer.find(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", buffer[:end]) if end >= 0 else None
            if chunk and not (length and len(buffer) >= end + 4 + int(length.group(1))):
                continue
            status = int(buffer.split(b" ", 2)[1]) if chunk else 0  # 0: the server closed the connection
            results[index] = (status, (time.perf_counter() - sent_at[index]) * 1000)
            selector.unregister(key.fileobj)
            key.fileobj.close()
            del received[index]
    selector.close()
    return results


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
            {"employee_no": f"B{n:05d}", "name": f"受講者{n}", "name_kana": "", "email": "",
             "department_id": department.id,
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


def _limiter_storage() -> tuple[str, str]:
    """Where the workers share rate-limit counts: Redis when one answers, else each worker's memory."""
    url = os.environ.get("PORTAL_BENCH_REDIS_URL", DEFAULT_REDIS)
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return url, f"rate limits on, counted in {url}"
    except Exception:  # no Redis here: say so
        return "memory://", "rate limits on, counted per worker (no Redis answered)"


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
                wrong_choice = [c for c in drawn["choices"] if c not in right][:1]
                posted[f"answer-{drawn['id']}"] = wrong_choice if wrong else right
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


def _pg_backends(url: str) -> tuple[list[int], bool]:
    """PostgreSQL's backend processes serving the bench database, and whether they run on this machine."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(url)
    with engine.connect() as conn:
        pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")).all()
    engine.dispose()
    local = make_url(url).host in ("127.0.0.1", "localhost", "::1", None) and \
        all(os.path.exists(f"/proc/{pid}/stat") for pid in pids)
    return list(pids), local


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(backend: str, people: int, workers: int, threads: int, worker_class: str = "gthread") -> bool:
    """Build, serve, warm, burst, replay, count; print the figures; True when on target."""
    warmup = WARMUP_PER_WORKER * workers
    storage, limiter_note = _limiter_storage()
    app = f'portal:create_app({{"RATELIMIT_KEY_PREFIX": "bench-{uuid.uuid4().hex[:12]}"}})'
    with fresh_database(backend) as url:
        prepare(url, warmup + people)
        with serve(url, workers, threads, app=app, env={"PORTAL_RATELIMIT_STORAGE_URI": storage},
                   options=("--worker-class", worker_class)) as served:
            ready = _parallel(warmup + people, lambda i: _ready(served.port, i))
            fields = _answers(url)

            for browser, _attempt_id, _token in ready:
                browser.connection.close()  # the burst comes on new connections (see fire)

            def submissions(group) -> list[tuple[tuple[str, int], bytes]]:
                return [browser.prepared_post(f"/training/attempts/{attempt_id}",
                                              {**fields[str(attempt_id)], "csrf_token": token})
                        for browser, attempt_id, token in group]

            warmed = [status for status, _ms in fire(submissions(ready[:warmup]))]
            measured = ready[warmup:]
            burst_requests = submissions(measured)

            backends, pg_local = _pg_backends(url) if backend == "postgres" else ([], False)
            gunicorn_workers = served.worker_pids()
            watched = gunicorn_workers + (backends if pg_local else [])
            load_before = os.getloadavg()[0]
            cpu_before, client_before = cpu_seconds(watched), _client_cpu()
            machine_before = machine_cpu()
            started = time.perf_counter()
            burst = fire(burst_requests)
            wall = time.perf_counter() - started
            machine_after = machine_cpu()
            if pg_local:  # a backend opened during the burst counts from its start
                backends = sorted(set(backends) | set(_pg_backends(url)[0]))
                watched = gunicorn_workers + backends
            cpu_after, client_after = cpu_seconds(watched), _client_cpu()
            load_after = os.getloadavg()[0]
            replay_from, replay_attempt, replay_token = measured[0]
            replay_barrier = threading.Barrier(REPLAYS)

            def replay(_i: int):
                browser = Browser(served.port)
                browser.cookie = replay_from.cookie
                replay_barrier.wait()
                status, _headers, _text = browser.send("POST", f"/training/attempts/{replay_attempt}",
                                                       {**fields[str(replay_attempt)], "csrf_token": replay_token})
                return status

            replays = _parallel(REPLAYS, replay)
        counts = _count(url)

    def used(pids) -> float:
        # A process that ended during the burst (an overflow connection's backend) has no "after":
        # its share is unknown, and counting it as 0 would subtract what it had used before.
        return sum(cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in pids if pid in cpu_after) * 1000 / people

    latencies = sorted(ms for _status, ms in burst)
    p50 = statistics.median(latencies)
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    errors = (sum(1 for status, _ms in burst if status != 303) + sum(1 for status in replays if status != 409)
              + sum(1 for status in warmed if status != 303))
    duplicates = counts["attempts"] - counts["people_with_attempts"] + counts["people_graded_twice"]
    ok = errors == 0 and duplicates == 0 and counts["graded"] == warmup + people and p95 <= P95_TARGET_MS
    database_cpu = (f", PostgreSQL backends {used(backends):.1f} ms ({len(backends)})" if pg_local
                    else ", PostgreSQL backends not on this machine" if backend == "postgres" else "")
    print(f"{backend:<10} {people} submissions at once (gunicorn {workers} {worker_class} workers × {threads} "
          f"thread{'s' if threads > 1 else ''}, {limiter_note}; "
          f"{warmup} uncounted warm-up submissions first): p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
          f"max {latencies[-1]:.0f} ms, all done in {wall * 1000:.0f} ms; errors {errors}, "
          f"duplicates {duplicates}; graded attempts in the database "
          f"{counts['graded']} (passed {counts['passed']}, failed {counts['failed']}); {REPLAYS} concurrent replays → "
          f"{sum(1 for s in replays if s == 409)}×409 — {'ok' if ok else 'MISSED'} (target p95 ≤ {P95_TARGET_MS} ms)",
          flush=True)
    print(f"{'':<10} CPU per submission during the burst: gunicorn workers {used(gunicorn_workers):.1f} ms "
          f"({' + '.join(f'{used([pid]):.1f}' for pid in gunicorn_workers)})"
          f"{database_cpu}, this client {(client_after - client_before) * 1000 / people:.1f} ms; "
          f"load average {load_before:.1f} → {load_after:.1f} on {os.cpu_count()} CPUs", flush=True)
    if machine_before:
        print(f"{'':<10} during the burst: {machine_cpu_shares(machine_before, machine_after)}", flush=True)
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
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    ok = True
    if args.backend in ("sqlite", "both"):
        ok &= run("sqlite", args.people, args.workers, args.threads, args.worker_class)
    if args.backend in ("postgres", "both"):
        if postgres_available():
            ok &= run("postgres", args.people, args.workers, args.threads, args.worker_class)
        else:
            print("postgres   SKIPPED: the PostgreSQL server does not answer", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
