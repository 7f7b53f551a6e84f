"""`portal reminders send` through a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, in which
language, and that running it again the same day sends nothing twice."""
from __future__ import annotations

import email
import email.policy
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal.extensions import db
from portal.reminders.models import ReminderLog
from tests.certificates_fixtures import events


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """Messages delivered to one address."""
        return [m for m, rcpt in zip(self.messages, self.envelopes) if address in rcpt]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    """A real SMTP server on a free local port, for this test only."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


@pytest.fixture
def mailing(app, smtp):
    app.config["PORTAL_SMTP_URL"] = smtp.url
    return smtp


def _send(app, *args):
    return app.test_cli_runner().invoke(args=["reminders", "send", *args])


def test_reminders_arrive_once_a_day_in_the_persons_language(app, org, mailing):
    org.soon.locale = "en"
    db.session.commit()
    first = _send(app)
    assert first.exit_code == 0, first.output
    # E2 and E4 are overdue, E3 is due in 3 days; E1 is current; M1 and M2 each get the weekly digest.
    assert sorted(a for rcpt in mailing.envelopes for a in rcpt) == sorted(
        ["e2@example.co.jp", "e3@example.co.jp", "e4@example.co.jp", "m1@example.co.jp", "m2@example.co.jp"])
    [overdue] = mailing.to("e2@example.co.jp")
    assert overdue["Subject"] == "【研修】受講期限を過ぎたマニュアルがあります（1件）"  # decoded from RFC 2047
    body = overdue.get_content()
    assert "𠮷田 誠 様" in body and "パートナー情報の取扱い" in body
    assert f"受講期限 {(org.today - timedelta(days=2)).isoformat()}" in body
    [soon] = mailing.to("e3@example.co.jp")
    assert soon["Subject"] == "[Training] Training due soon: 1 manual(s)"
    [digest] = mailing.to("m1@example.co.jp")
    assert digest["Subject"].startswith("【研修】受講期限切れの部下一覧")
    assert "𠮷田 誠（E2）" in digest.get_content() and "鈴木" not in digest.get_content()

    second = _send(app)
    assert second.exit_code == 0, second.output
    assert len(mailing.messages) == 5  # nothing new the same day
    assert "0 messages queued" in second.output
    runs = events("reminders.sent")
    assert [run.details["queued"] for run in runs] == [5, 0]


def test_the_next_day_overdue_people_are_reminded_again_but_the_digest_stays_weekly(app, org, mailing):
    monday = org.today - timedelta(days=org.today.weekday()) + timedelta(days=7)  # after every due date here
    for day in (monday + timedelta(days=2), monday + timedelta(days=3)):  # Wednesday, Thursday
        result = _send(app, "--today", day.isoformat(), "--no-snapshot")
        assert result.exit_code == 0, result.output
    assert len(mailing.to("e2@example.co.jp")) == 2  # overdue: every day until done
    assert len(mailing.to("m1@example.co.jp")) == 1  # digest: once per ISO week
    result = _send(app, "--today", (monday + timedelta(days=7)).isoformat(), "--no-snapshot")
    assert result.exit_code == 0, result.output
    assert len(mailing.to("m1@example.co.jp")) == 2  # a new week, a new digest


def test_a_mail_server_that_is_down_delays_the_reminders_which_go_once_each_when_it_is_back(app, org, smtp):
    from portal.core.timeutil import utcnow
    from portal.outbox.models import OutboxMail
    from portal.outbox.sending import drain_outbox

    app.config["PORTAL_SMTP_URL"] = f"smtp://127.0.0.1:{_free_port()}"  # nobody listens there
    down = _send(app, "--no-digest", "--no-snapshot")
    assert down.exit_code == 1 and "3 messages queued" in down.output and "0 sent" in down.output
    db.session.expire_all()
    assert all(row.sent_at is not None for row in db.session.scalars(select(ReminderLog)))  # owed once, queued
    mails = db.session.scalars(select(OutboxMail)).all()
    assert len(mails) == 3 and {m.state for m in mails} == {"queued"} and all(m.sent_at is None for m in mails)
    app.config["PORTAL_SMTP_URL"] = smtp.url
    again = _send(app, "--no-digest", "--no-snapshot")
    assert again.exit_code == 0 and "0 messages queued" in again.output  # nothing owed twice
    drain_outbox(now=utcnow() + timedelta(minutes=5))  # those tried before wait for their retry time
    assert len(smtp.messages) == 3 and len({m["Message-ID"] for m in smtp.messages}) == 3
    assert drain_outbox(now=utcnow() + timedelta(days=1))["sent"] == 0


def test_without_smtp_the_development_writer_leaves_eml_files(app, org):
    from tests.certificates_fixtures import mail_files

    assert not app.config["PORTAL_SMTP_URL"]
    result = _send(app, "--no-digest")
    assert result.exit_code == 0, result.output
    messages = mail_files(app)
    assert sorted(m["To"] for m in messages) == ["e2@example.co.jp", "e3@example.co.jp", "e4@example.co.jp"]


def test_a_claim_held_by_a_live_run_is_not_taken_over(app, org):
    from portal.core.timeutil import utcnow
    from portal.reminders import services

    now = utcnow()
    assert services.claim_learner_reminders(org.today, now, "run-a", 7) == 3
    db.session.commit()
    assert services.claim_learner_reminders(org.today, now + timedelta(minutes=1), "run-b", 7) == 0
    assert services.claim_learner_reminders(org.today, now + services.CLAIM_TIMEOUT * 2, "run-c", 7) == 3


def test_the_sql_claim_agrees_with_the_pure_rule(app, org, make_person):
    from portal.core.timeutil import utcnow
    from portal.reminders import services
    from portal.reminders.rules import reminder_kind
    from portal.training.status import status_rows
    from tests.certificates_fixtures import assign, started

    for offset in (-1, 0, 6, 7, 8):  # around today and the edge of the seven-day window
        person = make_person(f"W{offset + 10}", department=org.sales)
        person.email = f"w{offset + 10}@example.co.jp"
        assign(person, org.manual, due=org.today + timedelta(days=offset))
        if offset == 6:
            started(person, org.manual)
    services.claim_learner_reminders(org.today, utcnow(), "run", 7)
    db.session.commit()
    claimed = {(row.person_id, row.manual_id): row.kind for row in db.session.scalars(select(ReminderLog))}
    expected = {(r.person_id, r.manual_id): reminder_kind(r.status, r.due_date, org.today, 7)
                for r in status_rows(None, None, org.today)}
    assert claimed == {pair: kind for pair, kind in expected.items() if kind}
    assert sorted(set(claimed.values())) == ["due_soon", "overdue"]
