"""The mail outbox: queued in the caller's transaction, one row per key, claimed by one consumer at a
time, retried with growing delays, failed messages shown to admins and sent again on request."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.core.mail import OutgoingMail, message_id
from portal.extensions import db
from portal.jobs.queue import get_queue
from portal.outbox import sending  # noqa: F401  (imported before the clock patches utcnow)
from portal.outbox.models import OutboxMail
from portal.outbox.sending import MAX_ATTEMPTS, claim_batch, drain_outbox, retry_delay, send_batch
from portal.outbox.services import queue_mail
from tests.certificates_fixtures import events, mail_files
from tests.conftest import csrf_token_from


@pytest.fixture
def app_overrides(queue_by_hand) -> dict:
    """The queue runs by hand (tests/jobs_fixtures.py)."""
    return queue_by_hand


def _mail(n: int = 1) -> OutgoingMail:
    return OutgoingMail(to=f"p{n}@example.co.jp", subject=f"件名 {n}", body="本文")


def _rows() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_retry_delays_grow_and_stop_growing():
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(20) == sending.RETRY_CAP


def test_a_message_is_queued_once_per_key_and_only_when_the_change_commits(app):
    huey, _tasks = get_queue(app)
    assert queue_mail(_mail(), key="k1") is True
    db.session.rollback()
    assert _rows() == [] and len(huey.pending()) == 0  # rolled back: nothing queued, nobody woken
    assert queue_mail(_mail(), key="k1") is True
    assert queue_mail(_mail(), key="k1") is False  # the same message again
    db.session.commit()
    assert [r.key for r in _rows()] == ["k1"]
    assert [task.name for task in huey.pending()] == ["outbox.drain"]  # woken after the commit
    assert queue_mail(OutgoingMail(to="", subject="s", body="b"), key="k2") is False  # no address


def test_two_consumers_never_send_the_same_message_and_a_dead_ones_claim_is_taken_over(app, clock):
    for n in range(5):
        queue_mail(_mail(n), key=f"m{n}")
    db.session.commit()
    first = claim_batch("consumer-a", clock.now, limit=3)
    second = claim_batch("consumer-b", clock.now)
    assert {m.id for m in first}.isdisjoint({m.id for m in second}) and len(first) + len(second) == 5
    assert claim_batch("consumer-c", clock.advance(minutes=5)) == []  # a and b are alive
    clock.advance(minutes=sending.CLAIM_TIMEOUT.total_seconds() / 60)
    taken = claim_batch("consumer-c", clock.now)  # a and b died before sending
    assert len(taken) == 5 and all(m.attempts == 2 for m in taken)
    assert all(r.state == "sending" and r.lease == "consumer-c" for r in _rows())
    assert send_batch("consumer-c", taken) == (5, 0)
    assert all(r.state == "sent" and r.lease is None for r in _rows())
    ids = sorted(m["Message-ID"] for m in mail_files(app))
    assert ids == sorted(message_id(f"m{n}", app.config["PORTAL_MAIL_FROM"]) for n in range(5))
    assert drain_outbox(now=clock.advance(days=1)) == {"sent": 0, "failed": 0}


def test_a_message_the_server_keeps_refusing_fails_for_admins_who_may_send_it_again(app, client, login, org, clock):
    app.config["PORTAL_SMTP_URL"] = "smtp://127.0.0.1:9"  # nobody answers
    queue_mail(_mail(), key="refused")
    db.session.commit()
    for _attempt in range(MAX_ATTEMPTS):
        assert drain_outbox(now=clock.now) == {"sent": 0, "failed": 1}
        assert drain_outbox(now=clock.now) == {"sent": 0, "failed": 0}  # not before its retry time
        clock.advance(hours=3)
    [row] = _rows()
    assert (row.state, row.attempts) == ("failed", MAX_ATTEMPTS) and "refused" in row.last_error.lower()
    login(org.admin)
    page = client.get("/admin/mail/").get_data(as_text=True)
    assert "p1@example.co.jp" in page and "件名 1" in page
    token = csrf_token_from(client, "/admin/mail/")
    assert client.post(f"/admin/mail/{row.id}/retry", data={"csrf_token": token}).status_code == 302
    [row] = _rows()
    assert (row.state, row.attempts) == ("queued", 0)
    [event] = events("mail.retried")
    assert event.object_id == str(row.id)
    app.config["PORTAL_SMTP_URL"] = ""
    assert drain_outbox(now=clock.now + timedelta(seconds=1)) == {"sent": 1, "failed": 0}


def test_a_page_that_mails_answers_without_waiting_for_the_mail_server(app, client, login, org):
    app.config["PORTAL_SMTP_URL"] = "smtp://127.0.0.1:9"  # would refuse, if anyone tried from the request
    login(org.manager)
    token = csrf_token_from(client, f"/dashboards/departments/{org.sales.id}")
    response = client.post(f"/dashboards/departments/{org.sales.id}/people/{org.overdue.id}/remind",
                           data={"csrf_token": token})
    assert response.status_code == 302
    [row] = _rows()
    assert (row.state, row.attempts, row.to_address) == ("queued", 0, org.overdue.email)  # untouched until drained
