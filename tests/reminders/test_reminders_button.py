"""The dashboard's remind button: one overdue person, at most once a day, audited, in scope only."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.reminders.models import ReminderLog
from tests.certificates_fixtures import client_for, count, events, mail_files
from tests.conftest import csrf_token_from


def _remind(client, department, person):
    token = csrf_token_from(client, f"/dashboards/departments/{department.id}")
    return client.post(f"/dashboards/departments/{department.id}/people/{person.id}/remind",
                       data={"csrf_token": token})


def test_manager_reminds_an_overdue_person_once_a_day(app, client, login, org):
    login(org.manager)
    response = _remind(client, org.sales, org.overdue)
    assert response.status_code == 302 and response.headers["Location"].endswith("#behind")
    [message] = mail_files(app)
    assert message["To"] == "e2@example.co.jp"
    assert message["Subject"] == "【研修】受講期限を過ぎたマニュアルがあります（1件）"
    [row] = db.session.scalars(select(ReminderLog)).all()
    assert row.origin == "manager" and row.requested_by_id == org.manager.id and row.sent_at is not None
    [event] = events("reminder.sent")
    assert event.actor_id == org.manager.id and event.details["employee_no"] == "E2"
    page = client.get(f"/dashboards/departments/{org.sales.id}").get_data(as_text=True)
    assert "に受講を促すメールを送信しました" in page and "本日" in page
    again = _remind(client, org.sales, org.overdue)
    assert again.status_code == 302
    assert "本日すでに受講を促しています" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(mail_files(app)) == 1 and count(ReminderLog) == 1


def test_the_scheduled_run_counts_as_todays_reminder(app, client, login, org):
    result = app.test_cli_runner().invoke(args=["reminders", "send", "--no-digest", "--no-snapshot"])
    assert result.exit_code == 0, result.output
    sent = len(mail_files(app))
    login(org.manager)
    _remind(client, org.sales, org.overdue)
    assert len(mail_files(app)) == sent  # already reminded today by the schedule
    assert events("reminder.sent") == []


def test_nothing_to_remind_for_someone_who_is_not_overdue(app, client, login, org):
    login(org.manager)
    response = _remind(client, org.sales, org.soon)  # due in three days: not overdue
    assert response.status_code == 302
    assert "期限を過ぎた受講がありません" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert mail_files(app) == [] and count(ReminderLog) == 0


def test_people_outside_the_managers_departments_cannot_be_reminded(app, client, login, org):
    login(org.manager)
    assert _remind(client, org.front, org.outsider).status_code == 404     # not their department
    assert _remind(client, org.sales, org.outsider).status_code == 404     # person not in that department
    assert mail_files(app) == [] and count(ReminderLog) == 0
    other = client_for(app, org.other_manager)
    assert _remind(other, org.front, org.outsider).status_code == 302      # their own manager may
    assert len(mail_files(app)) == 1


def test_an_unreachable_mail_server_never_stalls_the_page_and_the_reminder_waits_in_the_outbox(app, client, login, org):
    from datetime import timedelta

    from portal.core.timeutil import utcnow
    from portal.outbox.models import OutboxMail
    from portal.outbox.sending import drain_outbox

    app.config["PORTAL_SMTP_URL"] = "smtp://127.0.0.1:9"  # discard port: nobody answers SMTP there
    login(org.manager)
    response = _remind(client, org.sales, org.overdue)
    assert "メールを送信しました" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    [row] = db.session.scalars(select(ReminderLog)).all()
    assert row.sent_at is not None and row.claim  # today's reminder is done: it is in the outbox
    [mail] = db.session.scalars(select(OutboxMail)).all()
    assert (mail.state, mail.attempts, mail.to_address) == ("queued", 1, org.overdue.email)  # tried once, waits
    assert mail_files(app) == []
    app.config["PORTAL_SMTP_URL"] = ""  # the server is back (here: the development writer)
    assert drain_outbox(now=utcnow()) == {"sent": 0, "failed": 0}  # not before its retry time
    assert drain_outbox(now=utcnow() + timedelta(minutes=2)) == {"sent": 1, "failed": 0}
    assert len(mail_files(app)) == 1 and drain_outbox(now=utcnow() + timedelta(hours=1))["sent"] == 0


def test_someone_without_an_address_is_named_as_such(app, client, login, org):
    org.overdue.email = ""
    db.session.commit()
    login(org.manager)
    response = _remind(client, org.sales, org.overdue)
    assert "メールアドレスがないため" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert count(ReminderLog) == 0 and events("reminder.sent") == []
