"""The requests that start jobs, through the portal served by gunicorn (2 workers) while everyone's
certificates are being made by a consumer (`portal worker --workers 1`), on synthetic people (SQLite;
--postgres for PostgreSQL):

    .venv/bin/python bench/bench_jobs_start.py [--people 3000] [--samples 30] [--postgres]

Timed (each a POST answered by a redirect to My downloads, redirect not followed): a department's
certificate ZIP, everyone's training status (CSV), the audit trail export (CSV), and the apply of a
previewed HR import (a one-person change; the upload and the preview before it are not timed).
Each job started is cancelled at once so the queue holds only the export. Also timed: the home
page (My training) before the export and during it.
Targets: p95 ≤ 200 ms for every start; the home page's p95 during the export ≤ 100 ms (the
department dashboard's target: the home page has none of its own). Exit 1 when one is missed.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench_certificates import _attestations, _load
from served import Browser, percentile, serve
from training_synthetic import bench_app, exit_cleanly_on_sigterm, fresh_database, insert_people

PORTAL = Path(sys.executable).with_name("portal")
START_TARGET_MS = 200
PAGE_TARGET_MS = 100
PASSWORD = "bench-password-2026"
BOUNDARY = "bench-boundary-5c1e"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself is the answer being timed


class Starter(Browser):
    """A signed-in browser that posts forms without following the redirect."""

    def __init__(self, base: str) -> None:
        super().__init__(base)
        cookies = next(h for h in self.opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor))
        self.posting = urllib.request.build_opener(cookies, _NoRedirect())

    def token(self, path: str) -> str:
        """The CSRF token of a page's form."""
        _status, page = self.get(path)
        return re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1).decode()

    def post(self, path: str, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> tuple[int, str]:
        """POST; (status, Location)."""
        request = urllib.request.Request(self.base + path, data=body, headers={"Content-Type": content_type})
        try:
            with self.posting.open(request, timeout=60) as response:
                return response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as answer:  # the 302 arrives as an "error" when it is not followed
            return answer.code, answer.headers.get("Location", "")

    def timed_post(self, path: str, fields: dict) -> float:
        """Milliseconds of one form POST that must answer with a redirect to My downloads."""
        started = time.perf_counter()
        status, location = self.post(path, urllib.parse.urlencode(fields).encode())
        elapsed = (time.perf_counter() - started) * 1000
        if status != 302 or "/downloads/" not in location:
            raise SystemExit(f"POST {path} answered {status} → {location!r}")
        return elapsed


def _prepare(people: int) -> tuple[str, int, list[list[str]]]:
    """People with a certificate each, one admin with a password; (admin no, a department id, HR rows)."""
    from sqlalchemy import insert, select, update

    from portal.auth.passwords import hash_password
    from portal.demo.organisation import large_rows
    from portal.extensions import db
    from portal.org.models import Person, PersonRole

    insert_people(people, max(people // 250, 1))
    _attestations(people)
    admin_id, admin_no, department_id = db.session.execute(
        select(Person.id, Person.employee_no, Person.department_id).order_by(Person.id).limit(1)).one()
    db.session.execute(update(Person).where(Person.id == admin_id).values(password_hash=hash_password(PASSWORD)))
    db.session.execute(insert(PersonRole), [{"person_id": admin_id, "role": r}
                                            for r in ("admin", "training_admin", "auditor")])
    db.session.commit()
    rows = [[r.employee_no, r.name, r.name_kana, r.email, r.department_code, r.department_name, r.department_kind,
             "", "", "true"] for r in large_rows(people, max(people // 250, 1))[1:]]
    return admin_no, department_id, rows


def _hr_file(row: list[str], sample: int) -> bytes:
    from portal.org.hr_csv import HR_COLUMNS

    changed = [row[0], f"{row[1].split()[0]} 変更{sample}", *row[2:]]
    return ("\r\n".join([",".join(HR_COLUMNS), ",".join(changed)]) + "\r\n").encode("utf-8")


def _upload_and_preview(browser: Starter, data: bytes) -> dict:
    """Upload an HR file and open its preview (not timed); the apply form's fields."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in (("csrf_token", browser.token("/org/import")), ("encoding", "utf-8"))]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="hr.csv"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    status, location = browser.post("/org/import", body, f"multipart/form-data; boundary={BOUNDARY}")
    if status != 302 or not location.endswith("/org/import/preview"):
        raise SystemExit(f"upload answered {status} → {location!r}")
    _status, page = browser.get("/org/import/preview")
    fields = dict(re.findall(rb'name="(csrf_token|token|digest)" type="hidden" value="([^"]*)"', page))
    return {name.decode(): value.decode() for name, value in fields.items()}


def _cancel_started(keep: int) -> None:
    """Cancel every queued job but the export, so the consumer's queue stays the export alone."""
    from sqlalchemy import update

    from portal.extensions import db
    from portal.jobs.models import Job

    db.session.execute(update(Job).where(Job.id != keep, Job.state.in_(("queued", "running")))
                       .values(state="cancelled"))
    db.session.commit()


def _export_progress(job_id: int) -> tuple[str, int, int]:
    from portal.extensions import db
    from portal.jobs.models import Job

    db.session.rollback()
    job = db.session.get(Job, job_id, populate_existing=True)
    return job.state, job.done, job.total


def _measure(url: str, folder: Path, people: int, samples: int) -> bool:
    from portal.certificates.jobs import start_certificate_export
    from portal.extensions import db
    from portal.jobs.services import announce_job

    queue = f"sqlite:///{folder / 'queue.sqlite3'}"
    # The consumer's daily tasks (the audit anchor among them) write into this run's folder, not instance/.
    env = {"PORTAL_JOBS_URL": queue, "PORTAL_FILES_DIR": str(folder / "files"), "PORTAL_DEMO_RELAX_2FA": "1",
           "PORTAL_ORG_UPLOAD_DIR": str(folder / "uploads"), "PORTAL_AUDIT_ANCHOR_DIR": str(folder / "anchors")}
    app = bench_app(url, PORTAL_JOBS_URL=queue, PORTAL_FILES_DIR=env["PORTAL_FILES_DIR"])
    with app.app_context():
        admin_no, department_id, rows = _prepare(people)
        with serve(url, workers=2, env=env) as served:
            browser = Starter(served.base)
            browser.sign_in(admin_no, PASSWORD)
            before = browser.timed("/", samples * 4)
            export = start_certificate_export(None, None, "bench")
            db.session.commit()
            export_id = export.id
            announce_job(export_id)
            consumer = subprocess.Popen([str(PORTAL), "worker", "--workers", "1"],
                                        env={**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench",
                                             **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                while _export_progress(export_id)[1] < 20:  # the consumer is rendering
                    time.sleep(0.2)
                times = _run_samples(browser, rows, department_id, export_id, samples)
                state, done, total = _export_progress(export_id)
            finally:
                consumer.send_signal(signal.SIGTERM)
                consumer.wait()
    return _report(before, times, state, done, total)


def _run_samples(browser: Starter, rows, department_id: int, export_id: int, samples: int) -> dict:
    times: dict[str, list[float]] = {"certificates": [], "people": [], "audit": [], "hr": [], "page": []}
    for sample in range(samples):
        token = browser.token("/certificates/export")
        times["certificates"].append(browser.timed_post("/certificates/export",
                                                        {"csrf_token": token, "department": str(department_id)}))
        times["page"].append(browser.timed("/", 1, warmup=0)[0])
        times["people"].append(browser.timed_post("/dashboards/organisation/people-export",
                                                  {"csrf_token": token, "format": "csv"}))
        times["page"].append(browser.timed("/", 1, warmup=0)[0])
        times["audit"].append(browser.timed_post("/audit/export-job", {"csrf_token": token, "format": "csv"}))
        times["page"].append(browser.timed("/", 1, warmup=0)[0])
        form = _upload_and_preview(browser, _hr_file(rows[sample % len(rows)], sample))
        times["hr"].append(browser.timed_post("/org/import/apply", form))
        times["page"].append(browser.timed("/", 1, warmup=0)[0])
        _cancel_started(keep=export_id)
    return times


def _report(before: list[float], times: dict, state: str, done: int, total: int) -> bool:
    ok = True
    labels = {"certificates": "start a department's certificate ZIP", "people": "start everyone's training status",
              "audit": "start the audit trail export", "hr": "apply a previewed HR import (queue it)"}
    for key, label in labels.items():
        p50, p95 = percentile(times[key], 0.5), percentile(times[key], 0.95)
        good = p95 <= START_TARGET_MS
        ok = ok and good
        print(f"{label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms over {len(times[key])} "
              f"({'ok' if good else 'TOO SLOW'}; target p95 ≤ {START_TARGET_MS} ms)", flush=True)
    during = percentile(times["page"], 0.95)
    good = during <= PAGE_TARGET_MS
    ok = ok and good
    print(f"home page: p95 {percentile(before, 0.95):.0f} ms before the export, {during:.0f} ms during it "
          f"({'ok' if good else 'TOO SLOW'}; target ≤ {PAGE_TARGET_MS} ms); export {state}, {done:,} of {total:,} "
          f"certificates when the last sample was taken; {_load()}", flush=True)
    if state != "running":
        print("  (the export was no longer running at the end: use more --people)", flush=True)
    return ok


def main() -> int:
    """Run the benchmark; 0 when every target is met."""
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with fresh_database("postgres" if args.postgres else "sqlite") as url, tempfile.TemporaryDirectory() as folder:
        print(f"{'PostgreSQL' if args.postgres else 'SQLite'}, {args.people:,} people, {args.samples} samples each",
              flush=True)
        ok = _measure(url, Path(folder), args.people, args.samples)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
