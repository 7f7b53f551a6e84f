"""Company SSO over OpenID Connect against a real provider (tests/oidc_provider): who gets in, who is
refused with a page and an audit event, and signing out at the provider too (SECURITY.md row 32)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.conftest import csrf_token_from
from tests.oidc_fixtures import (
    AUDIENCE_SWAP_CLIENT_ID,
    CLIENT_ID,
    PORTAL_BASE_URL,
    local_path,
    oidc_settings,
    query_of,
    sso_sign_in,
    start_company_sign_in,
)

#: The provider is another process on the real clock: its tokens carry real times.
pytestmark = pytest.mark.real_clock("the OpenID provider signs tokens with the real time")


@pytest.fixture
def client_id() -> str:
    """The portal's client id at the provider."""
    return CLIENT_ID


@pytest.fixture
def app_overrides(oidc_provider, client_id) -> dict:
    return oidc_settings(oidc_provider, client_id)


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _refusal(reason: str) -> AuditEvent:
    events = _events("auth.sso_refused")
    assert [event.details["reason"] for event in events] == [reason]
    return events[0]


def test_the_sign_in_page_offers_the_company_account(client):
    page = client.get("/login").get_data(as_text=True)
    assert "社内アカウントでログイン" in page
    assert 'href="/auth/oidc/login"' in page
    assert 'name="password"' in page  # PORTAL_LOCAL_LOGIN=all keeps the password form


@pytest.mark.parametrize("app_overrides", [{}])
def test_without_an_issuer_there_is_no_company_button_and_no_route(client):
    assert "社内アカウントでログイン" not in client.get("/login").get_data(as_text=True)
    assert client.get("/auth/oidc/login").status_code == 404
    assert client.get("/auth/oidc/callback?state=x&code=y").status_code == 404


def test_the_authorization_request_uses_pkce_state_and_nonce(client, oidc_provider):
    url = start_company_sign_in(client)
    assert url.startswith(oidc_provider.discovery()["authorization_endpoint"])
    query = query_of(url)
    assert query["response_type"] == "code" and query["client_id"] == "portal-test"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20
    assert query["redirect_uri"] == f"{PORTAL_BASE_URL}/auth/oidc/callback"
    assert set(query["scope"].split()) == {"openid", "profile", "email"}
    assert "prompt" not in query


def test_an_active_employee_signs_in_through_the_provider(client, at_provider, make_person):
    person = make_person("E1001", name="髙橋 優子", roles=("auditor",))
    response = sso_sign_in(client, at_provider, "E1001", next_path="/audit/")
    assert response.status_code == 302 and response.headers["Location"] == "/audit/"
    assert at_provider.pages == ["login"]  # the provider's own sign-in page was used
    home = client.get("/")
    assert home.status_code == 200 and "髙橋 優子" in home.get_data(as_text=True)
    assert client.get("/audit/").status_code == 200  # roles still come from the portal
    assert client.get("/org/import").status_code == 403
    event = _events("auth.sso_login")[0]
    assert event.actor_id == person.id and event.object_id == "E1001"
    assert event.details["method"] == "oidc" and event.details["subject"] == "E1001"
    assert isinstance(event.details["auth_time"], int)
    assert _events("auth.sso_refused") == []


def test_an_unknown_employee_is_refused_with_a_page_and_an_audit_event(client, at_provider, make_person):
    make_person("E1001")
    response = sso_sign_in(client, at_provider, "Z9999")
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "社内アカウントでログインできませんでした" in body and "ポータルに登録されていません" in body
    assert "Traceback" not in body and 'class="site-header"' in body  # the portal's own layout
    event = _refusal("unknown_employee")
    assert event.object_id == "Z9999" and event.details["purpose"] == "login"
    assert client.get("/").status_code == 302  # not signed in


def test_a_deactivated_employee_is_refused(client, at_provider, make_person):
    person = make_person("E1002", active=False)
    response = sso_sign_in(client, at_provider, "E1002")
    assert response.status_code == 403
    assert "利用が停止されています" in response.get_data(as_text=True)
    assert _refusal("deactivated").actor_id == person.id
    assert client.get("/").status_code == 302


def test_a_token_without_the_employee_claim_is_refused(client, at_provider, make_person):
    make_person("E1001")
    response = sso_sign_in(client, at_provider, "noclaim-7")
    assert response.status_code == 403
    assert "社員番号を受け取れませんでした" in response.get_data(as_text=True)
    assert _refusal("missing_claim").details["subject"] == "noclaim-7"


@pytest.mark.parametrize("client_id", [AUDIENCE_SWAP_CLIENT_ID])
def test_a_token_for_another_audience_is_refused(client, at_provider, make_person):
    # The provider re-signs this client's ID tokens for "another-app" with its own key: the
    # signature is good, the audience is not the portal.
    make_person("E1001")
    response = sso_sign_in(client, at_provider, "E1001")
    assert response.status_code == 403
    assert "別のアプリケーション" in response.get_data(as_text=True)
    assert _refusal("wrong_audience").details["claim"] == "aud"
    assert client.get("/").status_code == 302


def test_the_same_answer_twice_is_a_replay(client, at_provider, make_person):
    make_person("E1001")
    callback = at_provider.sign_in(start_company_sign_in(client), "E1001")
    before = client.get_cookie("portal_session").value
    assert client.get(local_path(callback)).status_code == 302
    # Again in the signed-in browser, then with the cookie from before the callback (which still
    # holds the pending flow): both are the same code and state.
    assert client.get(local_path(callback)).status_code == 400
    client.post("/logout", data={"csrf_token": csrf_token_from(client, "/")})
    client.set_cookie("portal_session", before)
    replay = client.get(local_path(callback))
    assert replay.status_code == 400
    assert "既に使われています" in replay.get_data(as_text=True)
    events = _events("auth.sso_refused")
    assert [event.details["reason"] for event in events] == ["replayed", "replayed"]
    assert len(_events("auth.sso_login")) == 1
    assert client.get("/").status_code == 302


def test_an_expired_id_token_is_refused(client, at_provider, make_person, clock):
    make_person("E1001")
    clock.set(datetime.now(timezone.utc))
    callback = at_provider.sign_in(start_company_sign_in(client), "E1001")
    clock.advance(minutes=10)  # the provider's ID tokens live 5 minutes (provider.js)
    response = client.get(local_path(callback))
    assert response.status_code == 400
    assert "有効期限が切れています" in response.get_data(as_text=True)
    assert _refusal("expired").details["error"] == "ExpiredTokenError"


def test_cancelling_at_the_provider_is_a_provider_error(client, at_provider, make_person):
    make_person("E1001")
    callback = at_provider.sign_in(start_company_sign_in(client), "E1001", cancel=True)
    assert query_of(callback)["error"] == "access_denied"
    response = client.get(local_path(callback))
    assert response.status_code == 400
    assert "access_denied" in response.get_data(as_text=True)
    assert _refusal("provider_error").details["error"] == "access_denied"


def test_a_callback_from_no_flow_of_this_browser_is_refused(client, make_person):
    response = client.get("/auth/oidc/callback?code=forged&state=never-issued")
    assert response.status_code == 400
    assert "もう一度ログインしてください" in response.get_data(as_text=True)
    _refusal("invalid_state")


def test_sign_out_ends_the_portal_session_and_the_providers(client, at_provider, make_person, oidc_provider):
    make_person("E1001")
    assert sso_sign_in(client, at_provider, "E1001").status_code == 302
    old_cookie = client.get_cookie("portal_session").value
    response = client.post("/logout", data={"csrf_token": csrf_token_from(client, "/")})
    assert response.status_code == 302
    end_session = response.headers["Location"]
    assert end_session.startswith(oidc_provider.discovery()["end_session_endpoint"])
    query = query_of(end_session)
    assert query["post_logout_redirect_uri"] == f"{PORTAL_BASE_URL}/login"
    assert query["id_token_hint"].count(".") == 2  # the ID token kept in the session for this
    client.set_cookie("portal_session", old_cookie)
    assert client.get("/").status_code == 302  # the old cookie no longer works
    back = at_provider.end_session(end_session)
    assert back.startswith(f"{PORTAL_BASE_URL}/login")
    # The provider's session ended too: the next company sign-in asks for the password again.
    at_provider.pages.clear()
    assert sso_sign_in(client, at_provider, "E1001").status_code == 302
    assert at_provider.pages == ["login"]


def test_a_password_sign_in_signs_out_here_only(client, make_person, login):
    login(make_person("E1001"))
    response = client.post("/logout", data={"csrf_token": csrf_token_from(client, "/")})
    assert response.headers["Location"] == "/login"


def test_pages_allow_forms_to_end_at_the_provider(client, oidc_provider):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert f"form-action 'self' {oidc_provider.issuer}" in policy


def test_refused_answers_from_one_address_are_throttled(client):
    statuses = [client.get(f"/auth/oidc/callback?code=x&state=forged-{n}").status_code for n in range(32)]
    assert statuses[:30] == [400] * 30 and statuses[30:] == [429, 429]
    assert len(_events("auth.sso_refused")) == 30  # throttled requests write nothing
