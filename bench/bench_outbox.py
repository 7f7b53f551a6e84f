"""The mail outbox drained by 2 consumers (`portal worker --workers 1` each) into a real SMTP server
(aiosmtpd in this process, as tests/accounts_fixtures.py uses), SQLite database and queue
(--postgres for PostgreSQL):

    .venv/bin/python bench/bench_outbox.py [--mails 10000] [--invitations 20]

1. --mails queued messages (one transaction, each under its own key): every one must arrive exactly
   once (counted by Message-ID, which the outbox derives from the key); mails a second printed.
2. The mail server is down (nothing listens on its port) while an admin sends --invitations
   sign-in invitations through the portal served by gunicorn: each request (it queues a mail) and
   the home page must stay fast; then the server comes up and every invitation must arrive once.
Targets: no message missing or twice; the invitation request's and the home page's p95 ≤ 200 ms
while the server is down; all mail delivered within 5 minutes of the server coming back (the
retry delays are 1, 2, 4 … minutes). Exit 1 when one is missed.
"""
from __future__ import annotations

import argparse
import collections
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from bench_certificates import _load
from bench_jobs_start import PASSWORD, Starter
from served import percentile, serve
from training_synthetic import bench_app, exit_cleanly_on_sigterm, fresh_database, insert_people

PORTAL = Path(sys.executable).with_name("portal")
REQUEST_TARGET_MS = 200
CATCH_UP_TARGET_S = 300


class Sink:
    """An aiosmtpd handler that counts every Message-ID it is given."""

    def __init__(self) -> None:
        self.ids: collections.Counter = collections.Counter()
        self.first = self.last = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.ids[line.split(b":", 1)[1].strip().decode()] += 1
                break
        self.last = time.perf_counter()
        self.first = self.first or self.last
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _consumers(url: str, env: dict, count: int = 2) -> list[subprocess.Popen]:
    # Their daily tasks (the audit anchor among them) write into a folder of their own, not instance/.
    anchors = tempfile.mkdtemp(prefix="bench-anchors-")
    return [subprocess.Popen([str(PORTAL), "worker", "--workers", "1"],
                             env={**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench",
                                  "PORTAL_AUDIT_ANCHOR_DIR": anchors, **env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]


def _stop(processes) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait()


def _states() -> dict[str, int]:
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.outbox.models import OutboxMail

    db.session.rollback()
    return dict(db.session.execute(select(OutboxMail.state, func.count()).group_by(OutboxMail.state)).all())


def _check(sink: Sink, expected: int) -> tuple[bool, str]:
    twice = sum(1 for count in sink.ids.values() if count > 1)
    arrived = len(sink.ids)
    return arrived == expected and not twice, f"{arrived:,} of {expected:,} arrived, {twice} twice"


def _drain(url: str, folder: Path, mails: int) -> bool:
    """Part 1: queue `mails`, drain them with 2 consumers into the sink."""
    from portal.core.mail import OutgoingMail
    from portal.extensions import db
    from portal.jobs.queue import enqueue
    from portal.outbox.services import queue_mail

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    queue = f"sqlite:///{folder / 'queue-drain.sqlite3'}"
    env = {"PORTAL_JOBS_URL": queue, "PORTAL_SMTP_URL": f"smtp://127.0.0.1:{controller.port}"}
    try:
        with bench_app(url, PORTAL_JOBS_URL=queue).app_context():
            for number in range(mails):
                mail = OutgoingMail(to=f"person{number}@example.co.jp", subject=f"【研修ポータル】お知らせ {number}",
                                    body="研修の期限が近づいています。\n" * 5)
                queue_mail(mail, key=f"bench:{number}")
            db.session.commit()  # wakes the consumers (one outbox.drain task)
            enqueue("outbox.drain")  # one for the second consumer
            started = time.perf_counter()
            consumers = _consumers(url, env)
            try:
                while len(sink.ids) < mails and time.perf_counter() - started < 1800:
                    time.sleep(0.2)
                time.sleep(2)  # anything sent twice arrives now
            finally:
                _stop(consumers)
            states = _states()
    finally:
        controller.stop()
    elapsed = sink.last - started
    ok, counted = _check(sink, mails)
    ok = ok and states.get("sent", 0) == mails
    sending = max(sink.last - sink.first, 1e-9)
    print(f"{mails:,} queued mails, 2 consumers: {counted}; {mails / elapsed:.0f} mails a second from the "
          f"consumers' start ({elapsed:.1f} s), {mails / sending:.0f} a second from the first arrival to the last; "
          f"outbox {states} ({'ok' if ok else 'LOST OR DOUBLED'}); {_load()}", flush=True)
    return ok


def _down_then_up(url: str, folder: Path, invitations: int) -> bool:
    """Part 2: the mail server is down while invitations are sent through the portal; then it comes up."""
    from sqlalchemy import insert, select, update

    from portal.auth.passwords import hash_password
    from portal.extensions import db
    from portal.org.models import Person, PersonRole

    port = _free_port()  # nothing listens here until the server "comes back"
    queue = f"sqlite:///{folder / 'queue-down.sqlite3'}"
    env = {"PORTAL_JOBS_URL": queue, "PORTAL_SMTP_URL": f"smtp://127.0.0.1:{port}", "PORTAL_DEMO_RELAX_2FA": "1"}
    with bench_app(url, PORTAL_JOBS_URL=queue).app_context():
        insert_people(invitations + 1, 1)
        ids = db.session.scalars(select(Person.id).order_by(Person.id)).all()
        admin_no = db.session.scalar(select(Person.employee_no).where(Person.id == ids[0]))
        db.session.execute(update(Person).where(Person.id == ids[0]).values(password_hash=hash_password(PASSWORD)))
        db.session.execute(insert(PersonRole), [{"person_id": ids[0], "role": "admin"}])
        db.session.commit()
        consumers = _consumers(url, env)
        sink = Sink()
        controller = None
        try:
            with serve(url, workers=2, env=env) as served:
                browser = Starter(served.base)
                browser.sign_in(admin_no, PASSWORD)
                token = browser.token("/org/import")
                asks, pages = [], []
                for person_id in ids[1:]:
                    begun = time.perf_counter()
                    status, _location = browser.post(f"/accounts/people/{person_id}/invitation",
                                                     f"csrf_token={token}".encode())
                    asks.append((time.perf_counter() - begun) * 1000)
                    if status != 302:
                        raise SystemExit(f"the invitation answered {status}")
                    pages.append(browser.timed("/", 1, warmup=0)[0])
                time.sleep(5)  # the consumers try, and fail
                down = _states()
                controller = Controller(sink, hostname="127.0.0.1", port=port)
                controller.start()
                up = time.perf_counter()
                while len(sink.ids) < invitations and time.perf_counter() - up < CATCH_UP_TARGET_S + 120:
                    time.sleep(0.5)
                caught_up = time.perf_counter() - up
                time.sleep(2)
        finally:
            _stop(consumers)
            if controller is not None:
                controller.stop()
    ask95, page95 = percentile(asks, 0.95), percentile(pages, 0.95)
    fast = ask95 <= REQUEST_TARGET_MS and page95 <= REQUEST_TARGET_MS
    ok, counted = _check(sink, invitations)
    in_time = caught_up <= CATCH_UP_TARGET_S
    print(f"mail server down: invitation request p95 {ask95:.0f} ms, home page p95 {page95:.0f} ms over "
          f"{invitations} ({'ok' if fast else 'TOO SLOW'}; target ≤ {REQUEST_TARGET_MS} ms); outbox while down "
          f"{down}", flush=True)
    print(f"server back: {counted} within {caught_up:.0f} s ({'ok' if ok and in_time else 'LATE, LOST OR DOUBLED'}; "
          f"target all once within {CATCH_UP_TARGET_S} s); {_load()}", flush=True)
    return fast and ok and in_time


def main() -> int:
    """Run the benchmark; 0 when every target is met."""
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--invitations", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    backend = "postgres" if args.postgres else "sqlite"
    print(f"{'PostgreSQL' if args.postgres else 'SQLite'}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        with fresh_database(backend) as url:
            ok = _drain(url, Path(folder), args.mails)
        with fresh_database(backend) as url:
            ok = _down_then_up(url, Path(folder), args.invitations) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
