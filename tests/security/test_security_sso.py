"""SSO reverse-proxy mode (PORTAL_SSO_HEADER): the proxy's header names the employee.
Off by default, when the header is ignored; on, only active, known people get in."""
from __future__ import annotations

import pytest

from portal.extensions import db

HEADER = "X-Remote-Employee"
SSO = {"PORTAL_SSO_HEADER": HEADER}


def _as(employee_no: str) -> dict:
    return {HEADER: employee_no}


def test_without_the_setting_the_header_is_ignored(app, client, make_person):
    assert app.config["PORTAL_SSO_HEADER"] == ""
    make_person("E1", roles=("auditor",))
    assert client.get("/", headers=_as("E1")).status_code == 302
    assert client.get("/audit/", headers=_as("E1")).status_code == 302


@pytest.mark.parametrize("app_overrides", [SSO])
def test_the_header_naming_an_active_employee_signs_them_in(client, make_person):
    make_person("E1", name="髙橋 優子", roles=("auditor",))
    page = client.get("/", headers=_as("E1"))
    assert page.status_code == 200
    assert "髙橋 優子" in page.get_data(as_text=True)
    assert client.get("/audit/", headers=_as("E1")).status_code == 200


@pytest.mark.parametrize("app_overrides", [SSO])
def test_inactive_unknown_or_missing_names_are_not_signed_in(client, make_person):
    make_person("E1", active=False)
    for headers in (_as("E1"), _as("NOBODY"), _as(""), {}):
        assert client.get("/", headers=headers).status_code == 302, headers


@pytest.mark.parametrize("app_overrides", [SSO])
def test_deactivation_ends_sso_access_at_the_next_request(client, make_person):
    person = make_person("E1")
    assert client.get("/", headers=_as("E1")).status_code == 200
    person.active = False
    db.session.commit()
    assert client.get("/", headers=_as("E1")).status_code == 302


@pytest.mark.parametrize("app_overrides", [SSO])
def test_the_proxys_word_wins_over_an_older_local_session(client, make_person, login):
    """A browser still holding someone else's local sign-in follows the header, not the cookie."""
    login(make_person("A1", name="伊藤 直樹", roles=("auditor",)))
    make_person("E2", name="山田 花子")
    page = client.get("/", headers=_as("E2"))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "山田 花子" in body and "伊藤 直樹" not in body
    assert client.get("/audit/", headers=_as("E2")).status_code == 403


@pytest.mark.parametrize("app_overrides", [SSO])
def test_a_password_session_expires_in_sso_mode_too(app, client, make_person, login):
    """Row 6 in SSO mode: a local password sign-in (e.g. a break-glass admin, no header) keeps its
    idle and absolute lifetimes; only requests the proxy vouches for skip them."""
    login(make_person("S1", roles=("admin",)))
    with client.session_transaction() as session:
        session["seen_at"] -= app.config["PORTAL_SESSION_IDLE_MINUTES"] * 60 + 5
    response = client.get("/", follow_redirects=True)
    assert "一定時間操作がなかったため" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("app_overrides", [SSO])
def test_an_absolute_lifetime_ends_a_password_session_in_sso_mode(app, client, make_person, login):
    login(make_person("S1", roles=("admin",)))
    with client.session_transaction() as session:
        session["login_at"] -= app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() + 5
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("app_overrides", [SSO])
def test_requests_the_proxy_vouches_for_are_not_expired(app, client, make_person, login):
    """The proxy authenticates every request anew: an old local session under the header is not the sign-in."""
    person = make_person("E1")
    login(person)
    with client.session_transaction() as session:
        session["seen_at"] -= app.config["PORTAL_SESSION_IDLE_MINUTES"] * 60 + 5
    assert client.get("/", headers=_as("E1")).status_code == 200
    assert client.get("/").status_code == 302  # without the header the expired sign-in is over


@pytest.mark.parametrize("app_overrides", [SSO])
def test_the_password_link_is_offered_only_to_people_with_a_password(client, make_person):
    sso_only = make_person("E1")
    sso_only.password_hash = ""
    db.session.commit()
    make_person("E2")
    assert 'href="/account/password"' not in client.get("/", headers=_as("E1")).get_data(as_text=True)
    assert 'href="/account/password"' in client.get("/", headers=_as("E2")).get_data(as_text=True)
