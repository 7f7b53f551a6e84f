"""Fixtures for the job tests: a queue in memory that the test runs by hand (portal.jobs.queue.run_pending),
job files in the test's own folder."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from portal.extensions import db


@pytest.fixture
def queue_by_hand(tmp_path) -> dict:
    """Configuration that runs the queue by hand instead of at once; a test module that wants it
    overrides `app_overrides` with it."""
    return {"PORTAL_JOBS_URL": "memory://", "PORTAL_FILES_DIR": str(tmp_path / "files"),
            "PORTAL_AUDIT_ANCHOR_DIR": str(tmp_path / "anchors")}


def wait_for(condition, seconds: float, what: str, log: Path):
    """Poll `condition` (in a fresh transaction each time) until it is truthy and return its value;
    after `seconds`, fail the test with the end of the other processes' `log`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}; log of the other processes:\n{log.read_text()[-3000:]}")


def insert_certificates(people) -> None:
    """One manual with a quiz that every one of `people` passed and attested (rows inserted directly)."""
    import hashlib
    import secrets
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import insert, select

    from portal.manuals.models import Manual, ManualEdition, QuizVersion
    from portal.training.models import Attestation, QuizAttempt

    now = datetime.now(timezone.utc)
    manual = Manual(slug="partner-data", title_ja="コラボ事業者の契約者情報の取扱い", title_en="Partner data")
    db.session.add(manual)
    db.session.flush()
    quiz = QuizVersion(manual_id=manual.id, content_hash="0" * 64, source_yaml="#", spec_json="{}")
    db.session.add(quiz)
    db.session.flush()
    edition = ManualEdition(manual_id=manual.id, number=1, change_kind="material", effective_date=now.date(),
                            source_text="", content_hash="0" * 64, html="", quiz_version_id=quiz.id)
    db.session.add(edition)
    db.session.flush()
    ids = [person.id for person in people]
    db.session.execute(insert(QuizAttempt), [
        {"person_id": pid, "manual_id": manual.id, "edition_id": edition.id, "edition_number": 1,
         "quiz_version_id": quiz.id, "mode": "full", "started_at": now - timedelta(hours=1), "drawn_json": "[]",
         "submitted_at": now - timedelta(minutes=50), "answers_json": "{}", "score": 5, "question_count": 5,
         "passed": True, "outcome": "passed"} for pid in ids])
    attempts = dict(db.session.execute(select(QuizAttempt.person_id, QuizAttempt.id)).all())
    db.session.execute(insert(Attestation), [
        {"person_id": pid, "manual_id": manual.id, "edition_id": edition.id, "edition_number": 1,
         "attempt_id": attempts[pid], "edition_content_hash": "0" * 64,
         "statement_hash": hashlib.sha256(b"s").hexdigest(), "statement_locale": "ja",
         "attested_at": now - timedelta(minutes=40), "client_address": "test", "user_agent": "test",
         "verification_code": secrets.token_urlsafe(18)} for pid in ids])
    db.session.commit()
