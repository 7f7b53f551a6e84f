"""SECURITY.md rows 2, 3, 5 and 6 beyond tests/auth/test_auth.py: session fixation, sign-out
everywhere, cookie attributes in every configuration, the idle window sliding with use."""
from __future__ import annotations

import pytest

from portal import create_app
from portal.auth.views import KNOWN_DEVICE_COOKIE
from portal.core.timeutil import utcnow
from tests.conftest import csrf_token_from, https_client, sign_in


def _cookie_value(browser, name: str = "portal_session"):
    cookie = browser.get_cookie(name)
    return cookie.value if cookie else None


def _set_cookie_header(response, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, f"no {name} cookie set"
    return headers[0]


def test_a_cookie_planted_before_sign_in_never_becomes_signed_in(app, make_person):
    """Row 2: session fixation. The attacker hands the victim a cookie; the victim signs in with it."""
    victim_person = make_person("E1")
    attacker = https_client(app)
    attacker.get("/login").close()
    planted = _cookie_value(attacker)
    victim = https_client(app)
    victim.set_cookie("portal_session", planted, domain="localhost")
    assert sign_in(victim, victim_person).status_code == 302
    assert _cookie_value(victim) != planted
    assert victim.get("/").status_code == 200
    assert attacker.get("/").status_code == 302


def test_nothing_but_the_language_survives_sign_in(app, client, make_person):
    """Row 2: the session is new at sign-in; only the chosen interface language is carried over."""
    person = make_person("E1")
    client.post("/language", data={"lang": "en", "next": "/login",
                                   "csrf_token": csrf_token_from(client, "/login")}).close()
    with client.session_transaction() as session:
        session["planted"] = "from before sign-in"
    sign_in(client, person)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["locale"] == "en"
    assert "Hello," in client.get("/").get_data(as_text=True)


def test_signing_out_ends_the_session_on_every_device(app, client, make_person, login):
    """Row 3: logout ends every existing session of that person, not only this browser's."""
    person = make_person("E1")
    login(person)
    phone = https_client(app)
    sign_in(phone, person)
    assert phone.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token_from(client)}).close()
    assert phone.get("/").status_code == 302
    assert client.get("/").status_code == 302


def test_a_cookie_from_before_a_password_change_is_refused_even_when_replayed(app, client, make_person, login):
    """Row 3: the old cookie, copied before the change, no longer works anywhere."""
    person = make_person("E1")
    login(person)
    stolen = _cookie_value(client)
    client.post("/account/password", data={
        "csrf_token": csrf_token_from(client), "current_password": "correct-horse-battery",
        "new_password": "another-long-passphrase", "confirm_password": "another-long-passphrase"}).close()
    thief = https_client(app)
    thief.set_cookie("portal_session", stolen, domain="localhost")
    assert thief.get("/").status_code == 302
    assert client.get("/").status_code == 200


def test_cookies_are_secure_httponly_and_lax_by_default(client, make_person):
    """Row 5: the session cookie and the sign-in's known-device cookie."""
    response = sign_in(client, make_person("E1"))
    for name in ("portal_session", KNOWN_DEVICE_COOKIE):
        header = _set_cookie_header(response, name)
        assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header, header
    assert "Path=/login" in _set_cookie_header(response, KNOWN_DEVICE_COOKIE)


def test_default_configuration_asks_for_secure_cookies(monkeypatch, tmp_path):
    """Row 5: Secure is the default; only PORTAL_INSECURE_HTTP=1 turns it off."""
    monkeypatch.delenv("PORTAL_INSECURE_HTTP", raising=False)
    monkeypatch.setenv("PORTAL_SECRET_KEY", "k")
    assert create_app().config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("PORTAL_INSECURE_HTTP", "1")
    config = create_app().config
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_HTTPONLY"] is True and config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize("app_overrides", [{"SESSION_COOKIE_SECURE": False}])
def test_local_http_mode_keeps_httponly_and_samesite(app, make_person):
    """Row 5: `make run` serves plain http on 127.0.0.1; the cookie loses only Secure."""
    browser = app.test_client()
    response = sign_in(browser, make_person("E1"))
    assert response.status_code == 302
    header = _set_cookie_header(response, "portal_session")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    assert browser.get("/").status_code == 200


def test_use_within_the_idle_window_keeps_the_session_alive(app, client, make_person, login):
    """Row 6: the idle limit counts from the last request, not from sign-in."""
    login(make_person("E1"))
    idle = app.config["PORTAL_SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session["seen_at"] -= idle - 60
        session["login_at"] -= idle - 60
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        assert utcnow().timestamp() - session["seen_at"] < 5
        session["seen_at"] -= 120  # another two minutes: past idle counted from sign-in, not from use
    assert client.get("/").status_code == 200


def test_an_expired_session_says_so_in_japanese_and_stays_ended(app, client, make_person, login):
    """Row 6: after the idle limit the person is told why, and the old cookie stays dead."""
    login(make_person("E1"))
    with client.session_transaction() as session:
        session["seen_at"] -= app.config["PORTAL_SESSION_IDLE_MINUTES"] * 60 + 5
    expired = _cookie_value(client)
    response = client.get("/", follow_redirects=True)
    assert "一定時間操作がなかったため" in response.get_data(as_text=True)
    replay = https_client(app)
    replay.set_cookie("portal_session", expired, domain="localhost")
    assert replay.get("/").status_code == 302
