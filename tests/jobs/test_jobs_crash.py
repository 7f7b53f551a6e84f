"""Crash safety with real consumers: `portal worker` processes on a shared SQLite queue and the test's
database. kill -9 of a consumer in the middle of a certificate export: a second consumer takes its
part over and finishes; the ZIP is complete and valid, and no mail of the outbox goes twice."""
from __future__ import annotations

import csv
import email
import email.policy
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.certificates.jobs import start_certificate_export
from portal.core.mail import OutgoingMail
from portal.extensions import db
from portal.jobs.models import Job, JobPart
from portal.jobs.services import announce_job
from portal.outbox.models import OutboxMail
from portal.outbox.services import queue_mail
from tests.jobs_fixtures import insert_certificates, wait_for

#: The consumers are other processes on the real clock; the leases they write are compared with it.
pytestmark = pytest.mark.real_clock("queue consumers are separate processes on the real clock")

CERTIFICATES = 30
MAILS = 20
#: Long enough that a consumer starved of CPU on a busy machine keeps its part (it beats every second):
#: with 2 s, a stall of 2 s could hand a live part to another thread, and a part handed on three
#: times fails the job ("interrupted 3 times").
LEASE_SECONDS = 6
PORTAL = Path(sys.executable).with_name("portal")


@pytest.fixture
def app_overrides(tmp_path) -> dict:
    return {"PORTAL_JOBS_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}", "PORTAL_FILES_DIR": str(tmp_path / "files"),
            "PORTAL_JOBS_LEASE_SECONDS": LEASE_SECONDS, "PORTAL_JOBS_CERTIFICATES_PER_PART": 10}


def _consumer(app, database_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "crash-test",
           "PORTAL_JOBS_URL": app.config["PORTAL_JOBS_URL"], "PORTAL_FILES_DIR": app.config["PORTAL_FILES_DIR"],
           "PORTAL_MAIL_DIR": app.config["PORTAL_MAIL_DIR"], "PORTAL_JOBS_LEASE_SECONDS": str(LEASE_SECONDS),
           "PORTAL_JOBS_CERTIFICATES_PER_PART": "10", "PORTAL_SMTP_URL": ""}
    with log.open("ab") as output:  # the child keeps its own copy of the file descriptor
        return subprocess.Popen([str(PORTAL), "worker", "--workers", "2"], env=env, stdout=output,
                                stderr=subprocess.STDOUT)


def _job(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_a_consumer_killed_mid_export_is_taken_over_and_the_zip_is_complete(app, database_url, make_department,
                                                                            make_person, tmp_path):
    department = make_department("SALES", name_ja="営業企画部")
    people = [make_person(f"E{n:03d}", department=department, name="𠮷田 誠" if n == 7 else f"社員 {n}")
              for n in range(CERTIFICATES)]
    insert_certificates(people)
    for n in range(MAILS):
        queue_mail(OutgoingMail(to=f"p{n}@example.co.jp", subject=f"件名 {n}", body="本文"), key=f"crash:{n}")
    job = start_certificate_export(None, None, "test")
    db.session.commit()
    announce_job(job.id)
    log = tmp_path / "consumers.log"
    first = _consumer(app, database_url, log)
    second = None
    try:
        wait_for(lambda: _job(job.id).done >= 10, 180, "the first part", log)
        first.send_signal(signal.SIGKILL)
        first.wait()
        held = db.session.scalars(select(JobPart.id).where(JobPart.job_id == job.id, JobPart.state == "running")).all()
        assert _job(job.id).done < CERTIFICATES and held, "the kill must land in the middle of the export"
        # The dead consumer's lease runs out; a new consumer then takes its part over.
        wait_for(lambda: all(p.heartbeat_at is None or (time.time() - p.heartbeat_at.timestamp()) > LEASE_SECONDS
                          for p in db.session.scalars(select(JobPart).where(JobPart.id.in_(held)))), 60,
              "the lease to run out", log)
        second = _consumer(app, database_url, log)
        finished = wait_for(lambda: _job(job.id).state in ("done", "failed"), 300, "the job to finish", log)
        assert finished
        job = _job(job.id)
        assert (job.state, job.done, job.total) == ("done", CERTIFICATES, CERTIFICATES), job.error
        retaken = db.session.scalars(select(JobPart.attempts).where(JobPart.id.in_(held))).all()
        assert retaken and all(attempts >= 2 for attempts in retaken)
        wait_for(lambda: all(m.state == "sent" for m in db.session.scalars(select(OutboxMail))), 120, "the mail", log)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
    archive = zipfile.ZipFile(Path(app.config["PORTAL_FILES_DIR"]) / job.result_path)
    assert archive.testzip() is None
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == len(set(pdfs)) == CERTIFICATES
    for name in pdfs:
        check = subprocess.run(["pdfinfo", "-"], input=archive.read(name), capture_output=True)
        assert check.returncode == 0, (name, check.stderr)
    manifest = list(csv.reader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert sorted(row[0] for row in manifest[1:]) == sorted(pdfs)
    written = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
               for p in Path(app.config["PORTAL_MAIL_DIR"]).glob("*.eml")]
    assert len(written) == MAILS and len({m["Message-ID"] for m in written}) == MAILS
