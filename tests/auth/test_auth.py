"""Sign-in, sessions and sign-out as people and attackers would try them."""
from __future__ import annotations

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.conftest import PASSWORD, csrf_token_from, https_client, sign_in


def _session_cookie(client):
    cookie = client.get_cookie("portal_session")
    return cookie.value if cookie else None


def test_sign_in_reaches_home_and_greets_by_name(client, make_person, login):
    person = make_person("E1", name="髙橋 優子")
    login(person)
    page = client.get("/")
    assert page.status_code == 200
    assert "髙橋 優子" in page.get_data(as_text=True)


def test_wrong_password_is_refused_and_audited(client, make_person):
    person = make_person("E1")
    response = sign_in(client, person, "wrong-password")
    assert response.status_code == 401
    assert "正しくありません" in response.get_data(as_text=True)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).one()
    assert event.object_id == "E1"
    assert client.get("/").status_code == 302


def test_login_issues_a_new_session_cookie(client, make_person):
    person = make_person("E1")
    client.get("/login")
    before = _session_cookie(client)
    sign_in(client, person)
    after = _session_cookie(client)
    assert before and after and before != after


def test_replaying_a_cookie_after_logout_is_refused(app, client, make_person, login):
    person = make_person("E1")
    login(person)
    stolen = _session_cookie(client)
    client.post("/logout", data={"csrf_token": csrf_token_from(client)})
    attacker = https_client(app)
    attacker.set_cookie("portal_session", stolen, domain="localhost")
    assert attacker.get("/").status_code == 302


def test_deactivation_ends_the_session_at_the_next_request(client, make_person, login):
    person = make_person("E1")
    login(person)
    assert client.get("/").status_code == 200
    person.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_demoted_admin_loses_admin_pages_mid_session(client, make_person, login):
    person = make_person("S1", roles=("auditor",))
    login(person)
    assert client.get("/audit/").status_code == 200
    person.role_rows = []
    db.session.commit()
    assert client.get("/audit/").status_code == 403


def test_session_cookie_attributes(client, make_person):
    person = make_person("E1")
    response = sign_in(client, person)
    header = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("portal_session=")][0]
    assert "HttpOnly" in header and "Secure" in header and "SameSite=Lax" in header


def test_idle_session_needs_sign_in_again(app, client, make_person, login):
    person = make_person("E1")
    login(person)
    with client.session_transaction() as session:
        session["seen_at"] -= app.config["PORTAL_SESSION_IDLE_MINUTES"] * 60 + 5
    assert client.get("/").status_code == 302


def test_absolute_session_lifetime_needs_sign_in_again(app, client, make_person, login):
    person = make_person("E1")
    login(person)
    with client.session_transaction() as session:
        session["login_at"] -= app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() + 5
    assert client.get("/").status_code == 302


def test_logout_by_get_is_not_allowed(client, make_person, login):
    login(make_person("E1"))
    assert client.get("/logout").status_code == 405


def test_login_without_csrf_token_is_refused(client, make_person):
    person = make_person("E1")
    response = client.post("/login", data={"employee_no": person.employee_no, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_password_change_ends_other_sessions(app, client, make_person, login):
    person = make_person("E1")
    login(person)
    other = https_client(app)
    sign_in(other, person)
    assert other.get("/").status_code == 200
    response = client.post("/account/password", data={
        "csrf_token": csrf_token_from(client), "current_password": PASSWORD,
        "new_password": "a-brand-new-passphrase", "confirm_password": "a-brand-new-passphrase"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_open_redirect_after_login_is_ignored(client, make_person):
    person = make_person("E1")
    token = csrf_token_from(client, "/login")
    response = client.post("/login?next=//evil.example/x", data={
        "employee_no": person.employee_no, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"
