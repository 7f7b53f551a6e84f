"""The portal served by gunicorn (real HTTP, several processes and threads) on a test database, and
browsers that sign in and fire the same or conflicting submissions at one instant.

One server per test module and backend: the database is a copy of the migrated template (SQLite
file or PostgreSQL clone); the test process seeds it through the services, with its own app
context, and reads the outcome afterwards.
"""
from __future__ import annotations

import dataclasses
import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db
from portal.outbox.models import OutboxMail
from tests.conftest import BACKENDS, PASSWORD, POSTGRES_URL

REPOSITORY = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
SECRET = "race-test-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_is_free(port: int) -> bool:
    """Nothing answers there (gunicorn's SO_REUSEPORT would otherwise share the port with a stale server)."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@dataclasses.dataclass
class Served:
    """A running portal: where it answers, its app (for the test process) and its mail folder."""

    base: str
    app: object
    mail_dir: Path
    backend: str

    def mail_count(self) -> int:
        """Messages queued so far in the outbox (its consumers send each exactly once), read afresh."""
        with db.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(OutboxMail)).scalar_one()


@dataclasses.dataclass
class _Database:
    url: str
    drop: object


def _database(backend: str, request, folder: Path) -> _Database:
    if backend == "sqlite":
        path = folder / "portal.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return _Database(f"sqlite:///{path}", lambda: None)
    template = request.getfixturevalue("postgres_template")
    name = f"portal_race_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return _Database(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), drop)


def _start(url: str, mail_dir: Path, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    assert _port_is_free(port)
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": SECRET, "PORTAL_INSECURE_HTTP": "1",
           "PORTAL_MAIL_DIR": str(mail_dir),
           # The steps under test are the workflow's, not the second factor; mail stays in the outbox
           # table, where the tests count it.
           "PORTAL_DEMO_RELAX_2FA": "1", "PORTAL_JOBS_URL": "memory://"}
    process = subprocess.Popen(
        [str(GUNICORN), "--config", str(REPOSITORY / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--log-level", "warning", "portal:create_app()"],
        cwd=REPOSITORY, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("gunicorn did not start")
            time.sleep(0.1)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    """The portal under gunicorn (2 workers × 4 threads) on this module's database, for one backend."""
    folder = tmp_path_factory.mktemp(f"race-{request.param}")
    database = _database(request.param, request, folder)
    mail_dir = folder / "mail"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "TESTING": True, "SECRET_KEY": SECRET,
                      "PORTAL_MAIL_DIR": str(mail_dir)})
    process, base = _start(database.url, mail_dir, workers=2, threads=4)
    try:
        with app.app_context():
            yield Served(base, app, mail_dir, request.param)
            db.session.remove()
            db.engine.dispose()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        database.drop()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is an answer here, not a detour


class Browser:
    """One signed-in person's cookies over real HTTP; post() answers the status code, whatever it is."""

    def __init__(self, base: str, employee_no: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects())
        status, page = self._send("/login")
        data = {"employee_no": employee_no, "password": PASSWORD, "csrf_token": _token(page)}
        status, _page = self._send("/login", data)
        assert status == 302, f"sign-in as {employee_no} answered {status}"

    def _send(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=120) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def token(self, path: str = "/") -> str:
        """A CSRF token for this session, read from a page."""
        status, page = self._send(path)
        assert status == 200, (path, status)
        return _token(page)

    def post(self, path: str, data: dict) -> tuple[int, str]:
        """POST a form; (status, body)."""
        return self._send(path, data)


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def at_once(shots: list[tuple[Browser, str, dict]]) -> list[tuple[int, str]]:
    """Send every (browser, path, form) from its own thread, released together; the answers, in order."""
    barrier = threading.Barrier(len(shots))
    answers: list = [None] * len(shots)

    def fire(index: int, browser: Browser, path: str, data: dict) -> None:
        barrier.wait()
        answers[index] = browser.post(path, data)

    threads = [threading.Thread(target=fire, args=(i, *shot)) for i, shot in enumerate(shots)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return answers
