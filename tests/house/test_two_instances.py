"""Two instances of the portal on one PostgreSQL database, sharing Redis (sign-in counts and the job
queue), with two `portal worker` consumers: a session started on A continues on B, wrong passwords
count across both, and an export started on A, whose first consumer is killed halfway, is finished
by the other and downloaded from B.

Runs when PORTAL_TEST_POSTGRES_URL is set and Redis answers at 127.0.0.1:6379 (in CI, PostgreSQL
without Redis is a failure, not a skip). Everything this test writes to Redis carries its run's
names (queue name, account, client address) and is deleted afterwards.
"""
from __future__ import annotations

import http.cookiejar
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from portal.extensions import db
from portal.jobs.models import Job
from tests.conftest import PASSWORD
from tests.jobs_fixtures import insert_certificates, wait_for

pytestmark = pytest.mark.real_clock("two gunicorn instances and two queue consumers are processes on the real clock")

REDIS_URL = "redis://127.0.0.1:6379"
REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CERTIFICATES = 30
PER_PART = 5
LEASE_SECONDS = 6  # a consumer starved of CPU on a busy machine keeps its part (tests/jobs/test_jobs_crash.py)
SECRET, AUDIT_KEY = "two-instances-secret", "two-instances-audit-key-0123456789abcdef"
RUN = uuid.uuid4().hex[:10]
#: The client address every request claims (through one trusted proxy): this run's sign-in counts only.
CLIENT = f"2001:db8::{RUN[:4]}:{RUN[4:8]}"


def _redis_or_skip() -> None:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1) as client:
            client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("CI runs this test on PostgreSQL: Redis must answer at 127.0.0.1:6379")
        pytest.skip("two instances share Redis: none answers at 127.0.0.1:6379")


@pytest.fixture
def app_overrides(tmp_path) -> dict:
    return {"PORTAL_JOBS_URL": REDIS_URL, "PORTAL_JOBS_NAME": f"portal-two-{RUN}",
            "PORTAL_FILES_DIR": str(tmp_path / "files"), "PORTAL_AUDIT_KEY": AUDIT_KEY,
            "PORTAL_AUDIT_ANCHOR_DIR": str(tmp_path / "anchors"), "PORTAL_JOBS_LEASE_SECONDS": LEASE_SECONDS,
            "PORTAL_JOBS_CERTIFICATES_PER_PART": PER_PART}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with socket.socket() as probe:  # nothing answers there (SO_REUSEPORT would share it with a stale server)
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


def _environment(app, database_url: str, tmp_path: Path) -> dict:
    return {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": SECRET,
            "PORTAL_AUDIT_KEY": AUDIT_KEY, "PORTAL_INSECURE_HTTP": "1", "PORTAL_DEMO_RELAX_2FA": "1",
            "PORTAL_TRUSTED_PROXIES": "1", "PORTAL_RATELIMIT_STORAGE_URI": REDIS_URL,
            "PORTAL_JOBS_URL": REDIS_URL, "PORTAL_JOBS_NAME": app.config["PORTAL_JOBS_NAME"],
            "PORTAL_FILES_DIR": app.config["PORTAL_FILES_DIR"], "PORTAL_MAIL_DIR": str(tmp_path / "mail"),
            "PORTAL_AUDIT_ANCHOR_DIR": app.config["PORTAL_AUDIT_ANCHOR_DIR"], "PORTAL_SMTP_URL": "",
            "PORTAL_JOBS_LEASE_SECONDS": str(LEASE_SECONDS), "PORTAL_JOBS_CERTIFICATES_PER_PART": str(PER_PART)}


class Processes:
    """The servers and consumers this test started; stop() ends every one of them, whatever happened."""

    def __init__(self, env: dict, log: Path) -> None:
        self.env, self.log, self.started = env, log, []

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        with self.log.open("ab") as output:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(command, cwd=REPOSITORY, env=self.env, stdout=output, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def web(self) -> str:
        """A gunicorn instance on a free port; its address once /healthz answers."""
        port = _free_port()
        process = self._spawn([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
                               "--threads", "4", "--log-level", "warning", "portal:create_app()"])
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return base
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}")
                time.sleep(0.1)

    def consumer(self) -> subprocess.Popen:
        """A `portal worker` consumer."""
        return self._spawn([str(BIN / "portal"), "worker", "--workers", "1"])

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is an answer here, not a detour


class Browser:
    """One browser's cookies, sent to whichever instance `base` names (cookies ignore the port)."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirects())

    def send(self, url: str, data: dict | None = None) -> tuple[int, bytes, dict]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"X-Forwarded-For": CLIENT})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read(), dict(error.headers)

    def token(self, url: str) -> str:
        status, page, _headers = self.send(url)
        assert status == 200, (url, status)
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.decode()).group(1)

    def sign_in(self, base: str, employee_no: str, password: str = PASSWORD) -> int:
        """Post the sign-in form; the status (302 signed in, 401 wrong, 429 throttled)."""
        data = {"employee_no": employee_no, "password": password, "csrf_token": self.token(base + "/login")}
        return self.send(base + "/login", data)[0]


def _job() -> Job | None:
    db.session.expire_all()
    return db.session.scalars(select(Job).order_by(Job.id.desc())).first()


def _forget_run(app) -> None:
    """Delete this run's Redis keys: its queue's, and the sign-in counts of its account and address."""
    from portal.jobs.queue import get_queue

    huey, _tasks = get_queue(app)
    huey.flush()
    huey.storage.conn.close()
    with redis.Redis.from_url(REDIS_URL) as client:
        for pattern in (f"*{app.config['PORTAL_JOBS_NAME']}*", f"*{RUN}*", f"*{CLIENT}*"):
            keys = list(client.scan_iter(match=pattern))
            if keys:
                client.delete(*keys)
        assert not [key for pattern in (f"*{RUN}*", f"*{CLIENT}*") for key in client.scan_iter(match=pattern)]


def test_two_instances_share_sessions_sign_in_counts_and_jobs(app, database_url, make_department, make_person,
                                                              tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("two instances share one PostgreSQL database: runs on the PostgreSQL backend "
                    "(PORTAL_TEST_POSTGRES_URL)")
    _redis_or_skip()
    department = make_department("SALES", name_ja="営業企画部")
    admin = make_person(f"S{RUN}", roles=("admin",), department=department, name="渡辺 聡")
    target = make_person(f"T{RUN}", department=department, name="髙橋 優子")
    insert_certificates([make_person(f"E{n:03d}", department=department, name=f"社員 {n}")
                         for n in range(CERTIFICATES)])
    log = tmp_path / "processes.log"
    processes = Processes(_environment(app, database_url, tmp_path), log)
    try:
        a, b = processes.web(), processes.web()
        first, _second = processes.consumer(), processes.consumer()

        # Signed in on A, the same cookie works on B.
        browser = Browser()
        assert browser.sign_in(a, admin.employee_no) == 302
        status, page, _headers = browser.send(b + "/downloads/")
        assert status == 200 and admin.employee_no.encode() in page

        # Wrong passwords count across both: 5 on A and 5 on B reach the limit of 10; the 11th is refused.
        stranger = Browser()
        answers = [stranger.sign_in(a, target.employee_no, "wrong-password") for _n in range(5)]
        answers += [stranger.sign_in(b, target.employee_no, "wrong-password") for _n in range(6)]
        assert answers == [401] * 10 + [429]

        # An export started on A; the first consumer is killed halfway; the other finishes it; B serves it.
        url = a + "/certificates/export"
        status, _page, headers = browser.send(url, {"csrf_token": browser.token(url), "department": str(department.id)})
        assert status == 302 and "/downloads/" in headers["Location"]
        wait_for(lambda: (job := _job()) and job.total and job.done >= PER_PART, 180, "the export to start", log)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert _job().done < CERTIFICATES, "the kill must land in the middle of the export"
        wait_for(lambda: _job().state in ("done", "failed"), 300, "the export to finish", log)
        job = _job()
        assert (job.state, job.done, job.total) == ("done", CERTIFICATES, CERTIFICATES), job.error
        status, body, _headers = browser.send(b + "/downloads/status.json")
        shown = next(row for row in json.loads(body)["jobs"] if row["id"] == job.id)
        assert shown["state"] == "done" and shown["download_url"]
        status, body, headers = browser.send(b + shown["download_url"])
        assert status == 200 and headers["Content-Type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(body))
        assert archive.testzip() is None
        assert len([name for name in archive.namelist() if name.endswith(".pdf")]) == CERTIFICATES
    finally:
        processes.stop()
        _forget_run(app)
