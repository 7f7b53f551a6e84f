"""The mail a person gets when a long job they started has finished or failed: once, in Japanese,
with the link to My downloads; none for a quick job, a cancelled one, or one nobody started."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.jobs.engine import fail_job
from portal.jobs.models import Job
from portal.jobs.notify import queue_finished_mail, worth_a_mail
from portal.jobs.queue import run_pending
from portal.jobs.services import announce_job, create_job
from portal.outbox.models import OutboxMail
from tests.clock import START


@pytest.fixture
def app_overrides(queue_by_hand) -> dict:
    """The queue runs by hand (tests/jobs_fixtures.py)."""
    return queue_by_hand

def _mails() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def _start_recount(person) -> Job:
    job = create_job(person, "dashboards.recount", {"today": "2026-04-01"})
    db.session.commit()
    announce_job(job.id)
    return job


def test_only_a_job_that_took_a_minute_is_worth_a_mail():
    assert worth_a_mail(START, START + timedelta(seconds=60), 60)
    assert not worth_a_mail(START, START + timedelta(seconds=59), 60)
    assert worth_a_mail(START, START, 0)  # 0: every job


def test_a_long_job_mails_its_starter_once_with_the_link(app, clock, org):
    job = _start_recount(org.training_admin)
    clock.advance(seconds=61)  # it waited in the queue for a minute
    run_pending(app)
    assert db.session.get(Job, job.id, populate_existing=True).state == "done"
    [mail] = _mails()
    assert mail.key == f"job-finished:{job.id}" and mail.to_address == org.training_admin.email
    assert "完了しました" in mail.subject and "【研修ポータル】" in mail.subject
    assert f"{org.training_admin.name} 様" in mail.body
    assert "http://127.0.0.1:5000/downloads/" in mail.body
    assert queue_finished_mail(job.id, clock.now) is False  # a second look (a retried finish) adds nothing
    db.session.commit()
    assert len(_mails()) == 1


def test_a_quick_job_mails_nobody(app, clock, org):
    _start_recount(org.training_admin)
    clock.advance(seconds=20)
    run_pending(app)
    assert _mails() == []


def test_a_long_job_that_fails_says_why(app, clock, org):
    job = _start_recount(org.training_admin)
    clock.advance(minutes=5)
    assert fail_job(job.id, "stopped")
    db.session.commit()
    [mail] = _mails()
    assert "できませんでした" in mail.subject
    assert "処理が何度も中断しました" in mail.body and "/downloads/" in mail.body
    assert fail_job(job.id, "stopped") is False  # already failed: no second mail
    db.session.commit()
    assert len(_mails()) == 1


def test_a_job_started_from_the_command_line_mails_nobody(app, clock, org):
    job = _start_recount(None)
    clock.advance(minutes=5)
    run_pending(app)
    assert db.session.get(Job, job.id, populate_existing=True).state == "done" and _mails() == []


def test_an_english_speaker_gets_the_english_mail(app, clock, org):
    org.training_admin.locale = "en"
    db.session.commit()
    _start_recount(org.training_admin)
    clock.advance(minutes=2)
    run_pending(app)
    [mail] = _mails()
    assert mail.subject.startswith("[Training portal]") and "is ready" in mail.subject

