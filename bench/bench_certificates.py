"""Certificates: one PDF's render time, and `portal certificates export --all` (the bulk ZIP) in
certificates a minute with its peak memory, on synthetic attestations (1 in 100 names has 𠮷).

    .venv/bin/python bench/bench_certificates.py [--certificates 3000] [--jobs 2]

Targets: one certificate ≤ 100 ms (p95 of 50 renders of an ordinary name; a name with 𠮷, which
also embeds IPAmj Mincho, is printed for information); bulk ≥ 1,500 certificates a minute on
2 cores with peak memory ≤ 300 MB (the largest process's RSS; the whole process tree's peak is
printed too). Exit 1 when a target is missed. Figures are wall-clock: other work on the machine
shows in them.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from served import percentile
from training_synthetic import bench_app, fresh_database, insert_people

PORTAL = Path(sys.executable).with_name("portal")
ONE_TARGET_MS = 100
PER_MINUTE_TARGET = 1500
MEMORY_TARGET_MB = 300


def _attestations(count: int) -> None:
    """One manual with a quiz; every person passed and attested it (rows inserted directly)."""
    import hashlib
    import secrets
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import insert, select, update

    from portal.extensions import db
    from portal.manuals.models import Manual, ManualEdition, QuizVersion
    from portal.org.models import Person
    from portal.training.models import Attestation, QuizAttempt

    now = datetime.now(timezone.utc)
    manual = Manual(slug="partner-subscriber-information", title_ja="コラボ事業者の契約者情報の取扱いマニュアル",
                    title_en="Handling partners' subscriber information")
    db.session.add(manual)
    db.session.flush()
    quiz = QuizVersion(manual_id=manual.id, content_hash="0" * 64, source_yaml="#", spec_json="{}")
    db.session.add(quiz)
    db.session.flush()
    edition = ManualEdition(manual_id=manual.id, number=3, change_kind="material", effective_date=now.date(),
                            source_text="", content_hash="0" * 64, html="", validity_months=12,
                            quiz_version_id=quiz.id)
    db.session.add(edition)
    db.session.flush()
    people = db.session.scalars(select(Person.id).order_by(Person.id).limit(count)).all()
    db.session.execute(update(Person).where(Person.id.in_(people[::100])).values(name="𠮷田 誠"))
    db.session.execute(insert(QuizAttempt), [
        {"person_id": pid, "manual_id": manual.id, "edition_id": edition.id, "edition_number": 3,
         "quiz_version_id": quiz.id, "mode": "full", "started_at": now - timedelta(hours=1), "drawn_json": "[]",
         "submitted_at": now - timedelta(minutes=50), "answers_json": "{}", "score": 5, "question_count": 5,
         "passed": True, "outcome": "passed"} for pid in people])
    attempts = dict(db.session.execute(select(QuizAttempt.person_id, QuizAttempt.id)).all())
    db.session.execute(insert(Attestation), [
        {"person_id": pid, "manual_id": manual.id, "edition_id": edition.id, "edition_number": 3,
         "attempt_id": attempts[pid], "edition_content_hash": "0" * 64,
         "statement_hash": hashlib.sha256(b"s").hexdigest(), "statement_locale": "ja",
         "attested_at": now - timedelta(minutes=40), "client_address": "bench", "user_agent": "bench",
         "verification_code": secrets.token_urlsafe(18)} for pid in people])
    db.session.commit()


def _single(app, attestation_id: int) -> tuple[list[float], str]:
    """Milliseconds for each of 50 renders of one certificate, after a warm-up."""
    from portal.certificates.queries import certificate_by_id
    from portal.certificates.rendering import render_certificate
    from portal.training.status import jst_today

    with app.app_context():
        facts = certificate_by_id(attestation_id, jst_today())
        render_certificate(facts)  # warm-up: fonts, templates, stylesheet
        times = []
        for _ in range(50):
            started = time.perf_counter()
            render_certificate(facts)
            times.append((time.perf_counter() - started) * 1000)
        return times, facts.person_name


def _tree_rss_mb(root: int) -> tuple[float, float]:
    """(largest process, whole tree) resident memory in MB for a process and its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    sizes = [rss.get(pid, 0) / 1e6 for pid in tree]
    return max(sizes, default=0.0), sum(sizes)


def _bulk(url: str, jobs: int, out: Path) -> tuple[float, float, float, str]:
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench"}
    started = time.perf_counter()
    process = subprocess.Popen([str(PORTAL), "certificates", "export", "--all", "--out", str(out), "--jobs", str(jobs)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peaks = [0.0, 0.0]

    def sample() -> None:
        while process.poll() is None:
            largest, total = _tree_rss_mb(process.pid)
            peaks[0], peaks[1] = max(peaks[0], largest), max(peaks[1], total)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0]
    elapsed = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"export failed:\n{output}")
    largest = max(peaks[0], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return elapsed, largest, peaks[1], output.strip()


def main() -> int:
    """Build the attestations in a fresh SQLite file, then measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=3000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    ok = True
    with fresh_database("sqlite") as url:
        app = bench_app(url)
        with app.app_context():
            insert_people(args.certificates, max(args.certificates // 250, 1))
            _attestations(args.certificates)
        times, name = _single(app, 2)  # an ordinary name (IPAex only)
        p95 = percentile(times, 0.95)
        verdict = "ok" if p95 <= ONE_TARGET_MS else "TOO SLOW"
        ok &= p95 <= ONE_TARGET_MS
        print(f"one certificate ({name}): p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
              f"({verdict}; target p95 ≤ {ONE_TARGET_MS} ms)", flush=True)
        times, name = _single(app, 1)  # 𠮷: IPAmj Mincho is embedded as well
        print(f"  (for information) one certificate with {name}: p50 {statistics.median(times):.1f} ms, "
              f"p95 {percentile(times, 0.95):.1f} ms", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "all.zip"
            elapsed, largest, total, output = _bulk(url, args.jobs, out)
            with zipfile.ZipFile(out) as archive:
                pdfs = sum(1 for name in archive.namelist() if name.endswith(".pdf"))
            per_minute = pdfs / elapsed * 60
            fast, small = per_minute >= PER_MINUTE_TARGET, largest <= MEMORY_TARGET_MB
            ok &= fast and small
            print(f"bulk export (--jobs {args.jobs}): {pdfs} certificates in {elapsed:.1f} s = {per_minute:.0f} a minute "
                  f"({'ok' if fast else 'TOO SLOW'}; target ≥ {PER_MINUTE_TARGET}); peak memory {largest:.0f} MB "
                  f"largest process ({'ok' if small else 'TOO MUCH'}; target ≤ {MEMORY_TARGET_MB} MB), "
                  f"{total:.0f} MB whole process tree; ZIP {out.stat().st_size / 1e6:.0f} MB", flush=True)
            print(f"  portal said: {output}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
