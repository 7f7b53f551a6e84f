"""「パスワードをお忘れの方」: the same answer whether or not the account exists, a reset link by
mail (60 minutes, once), and throttling per client address and per account."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.org.models import Person
from tests.accounts_fixtures import NEW_PASSWORD, body_of, link_path, post_form, set_password
from tests.conftest import PASSWORD, https_client, sign_in

SENT = "メールを確認してください"


def _ask(app, identifier: str, address: str = "192.0.2.10"):
    browser = https_client(app)
    browser.environ_base["REMOTE_ADDR"] = address
    response = post_form(browser, "/login/forgot", {"identifier": identifier})
    response.close()
    return response


def _answer(response) -> str:
    """The page without the per-session CSRF token (which differs for every browser)."""
    html = response.get_data(as_text=True)
    return html.split("<main", 1)[1]


def test_the_sign_in_page_links_to_the_reset_page(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/login/forgot"' in page and "パスワードをお忘れの方" in page


def test_the_answer_is_the_same_for_unknown_known_and_mailless_accounts(app, make_person, mailbox):
    make_person("E1")
    without_mail = make_person("E2")
    without_mail.email = ""
    no_password = make_person("E3")
    no_password.password_hash = ""
    db.session.commit()
    answers = [_ask(app, typed) for typed in ("E1", "NOBODY", "E2", "E3", "nobody@example.co.jp")]
    assert {r.status_code for r in answers} == {200}
    assert len({_answer(r) for r in answers}) == 1
    assert SENT in _answer(answers[0])
    assert [m["To"] for m in mailbox.messages] == ["p@example.co.jp"]  # only E1 has a password and an address
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.reset_requested")
                                .order_by(AuditEvent.seq)).all()
    assert [(e.object_id, '"known": true' in e.details_json) for e in events] == [
        ("E1", True), ("NOBODY", False), ("E2", False), ("E3", False), ("nobody@example.co.jp", False)]


def test_the_reset_link_sets_a_new_password_once_and_ends_other_sessions(app, client, make_person, login, mailbox):
    person = make_person("E1", name="髙橋 優子", name_kana="たかはし ゆうこ")
    person.email = "yuko.takahashi@example.co.jp"
    db.session.commit()
    login(person)
    assert client.get("/").status_code == 200
    _ask(app, "Yuko.Takahashi@example.co.jp")  # by e-mail, in any case
    [message] = mailbox.messages
    assert message["Subject"] == "【研修ポータル】パスワード再設定のご案内" and "60分間" in body_of(message)
    path = link_path(message)
    browser = https_client(app)
    assert set_password(browser, path).status_code == 302
    assert browser.get("/").status_code == 200
    assert client.get("/").status_code == 302  # the session from before the reset has ended
    assert https_client(app).get(path).status_code == 410
    assert sign_in(https_client(app), person, PASSWORD).status_code == 401
    assert sign_in(https_client(app), person, NEW_PASSWORD).status_code == 302
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.password_set")).one()
    assert '"via": "reset"' in event.details_json


def test_a_reset_link_expires_after_60_minutes(app, clock, make_person, mailbox):
    make_person("E1")
    _ask(app, "E1")
    path = link_path(mailbox.messages[0])
    clock.advance(minutes=61)
    response = https_client(app).get(path)
    assert response.status_code == 410
    assert "「パスワードをお忘れの方」から新しいリンクを依頼してください" in response.get_data(as_text=True)


def test_a_deactivated_person_gets_no_reset_mail(app, make_person, mailbox):
    person = make_person("E1")
    person.active = False
    db.session.commit()
    assert SENT in _answer(_ask(app, "E1"))
    assert mailbox.messages == []


@pytest.mark.parametrize("typed", ["E1", "NOBODY"])
def test_requests_are_throttled_per_account_known_or_not(app, make_person, mailbox, typed):
    make_person("E1")
    statuses = [_ask(app, typed, address=f"198.51.100.{n}").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]  # three an hour per account, from any address
    assert len(mailbox.messages) == (3 if typed == "E1" else 0)


def test_typing_the_e_mail_address_counts_against_the_same_account(app, make_person, mailbox):
    make_person("E1")
    statuses = [_ask(app, typed, address=f"198.51.100.{n}").status_code
                for n, typed in enumerate(["E1", "p@example.co.jp", "P@EXAMPLE.CO.JP", "E1"])]
    assert statuses == [200, 200, 200, 429]


def test_requests_are_throttled_per_client_address(app, make_person, mailbox):
    statuses = [_ask(app, f"NOBODY{n}", address="203.0.113.9").status_code for n in range(21)]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429
    assert _ask(app, "NOBODY-else", address="203.0.113.10").status_code == 200  # another address is not affected


def test_an_empty_or_forged_form_costs_nothing_and_sends_nothing(app, make_person, mailbox):
    make_person("E1")
    browser = https_client(app)
    assert browser.post("/login/forgot", data={"identifier": "E1"}).status_code == 400  # no CSRF token
    assert post_form(browser, "/login/forgot", {"identifier": ""}).status_code == 400
    assert [_ask(app, "E1").status_code for _ in range(3)] == [200, 200, 200]
    assert len(mailbox.messages) == 3
    db.session.expire_all()
    assert db.session.scalar(select(Person.password_hash).where(Person.employee_no == "E1")).startswith("$argon2")
