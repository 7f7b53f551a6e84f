"""SECURITY.md row 13 for the foundation's forms: a cross-origin POST without this session's
token is refused (400) and changes nothing; state changes refuse GET (405).
(Login without a token and GET /logout are in tests/auth/test_auth.py.)"""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.org.models import Person
from tests.conftest import PASSWORD, csrf_token_from, https_client

CROSS_ORIGIN = {"Origin": "https://evil.example", "Referer": "https://evil.example/page"}
REFUSED = "このサイト以外から送信されました"


def test_cross_origin_logout_without_token_is_refused_and_keeps_the_session(client, make_person, login):
    login(make_person("E1"))
    response = client.post("/logout", headers=CROSS_ORIGIN, data={})
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_cross_origin_language_switch_without_token_is_refused(client, make_person, login):
    person = make_person("E1")
    login(person)
    response = client.post("/language", headers=CROSS_ORIGIN, data={"lang": "en"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Person, person.id).locale == ""
    assert "こんにちは" in client.get("/").get_data(as_text=True)


def test_a_token_from_another_browser_does_not_sign_in(app, client, make_person):
    """The attacker's own valid token is bound to the attacker's session, not the victim's."""
    make_person("E1")
    attacker = https_client(app)
    foreign_token = csrf_token_from(attacker, "/login")
    client.get("/login").close()
    response = client.post("/login", headers=CROSS_ORIGIN, data={
        "employee_no": "E1", "password": PASSWORD, "csrf_token": foreign_token})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_a_token_from_another_browser_does_not_sign_out(app, client, make_person, login):
    login(make_person("E1"))
    attacker = https_client(app)
    response = client.post("/logout", data={"csrf_token": csrf_token_from(attacker, "/login")})
    assert response.status_code == 400
    assert client.get("/").status_code == 200
    assert db.session.scalar(select(Person.session_version).where(Person.employee_no == "E1")) == 1


def test_state_changing_urls_refuse_get(client, make_person, login):
    login(make_person("E1"))
    assert client.get("/language?lang=en").status_code == 405
    assert "こんにちは" in client.get("/").get_data(as_text=True)
