"""SECURITY.md row 16: a strict Content-Security-Policy and nosniff on every response,
errors and static files included; pages carry no inline script or style for the CSP to block."""
from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_token_from


def _policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_hardened(response, what: str) -> None:
    policy = _policy(response)
    assert policy, f"{what}: no Content-Security-Policy"
    assert policy.get("object-src") == ["'none'"], what
    assert policy.get("base-uri") == ["'none'"], what
    assert policy.get("frame-ancestors") == ["'none'"], what
    assert policy.get("script-src") == ["'self'"], what
    assert policy.get("style-src") == ["'self'"], what
    everything = " ".join(" ".join(v) for v in policy.values())
    assert "'unsafe-inline'" not in everything and "'unsafe-eval'" not in everything, what
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what


def _anonymous_responses(client):
    yield "login page", client.get("/login")
    yield "health check", client.get("/healthz")
    yield "stylesheet", client.get("/static/css/portal.css")
    yield "404", client.get("/no-such-page")
    yield "404 api", client.get("/api/v1/no-such-thing")
    yield "redirect to sign in", client.get("/")
    yield "405", client.get("/logout")
    yield "400 csrf", client.post("/language", data={"lang": "en"})
    yield "401 wrong password", client.post("/login", data={
        "employee_no": "nobody", "password": "x", "csrf_token": csrf_token_from(client, "/login")})


def test_every_kind_of_response_carries_the_policy_and_nosniff(client):
    seen = []
    for what, response in _anonymous_responses(client):
        seen.append((what, response.status_code))
        _assert_hardened(response, what)
        response.close()
    assert {code for _, code in seen} >= {200, 302, 400, 401, 404, 405}


def test_signed_in_pages_and_forbidden_pages_carry_the_policy(client, make_person, login):
    login(make_person("E1"))
    for path, code in (("/", 200), ("/account/password", 200), ("/audit/", 403)):
        response = client.get(path)
        assert response.status_code == code
        _assert_hardened(response, path)


@pytest.mark.parametrize("path", ["/login", "/", "/account/password"])
def test_pages_have_no_inline_script_style_or_event_handlers(client, make_person, login, path):
    """What the CSP would block must not be there in the first place."""
    login(make_person("E1"))
    if path == "/login":
        client.post("/logout", data={"csrf_token": csrf_token_from(client)}).close()
    html = client.get(path).get_data(as_text=True)
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "javascript:" not in html


def test_https_deployments_send_strict_transport_security(client, make_person, login):
    """Cookies are Secure by default (the portal is served over HTTPS): browsers are told to stay on HTTPS."""
    login(make_person("E1"))
    for what, path in (("page", "/"), ("404", "/no-such-page"), ("stylesheet", "/static/css/portal.css")):
        response = client.get(path)
        response.close()
        assert response.headers.get("Strict-Transport-Security") == "max-age=31536000", what


@pytest.mark.parametrize("app_overrides", [{"SESSION_COOKIE_SECURE": False}])
def test_plain_http_for_local_use_sends_no_hsts(app):
    """`make run` serves plain http on 127.0.0.1 (PORTAL_INSECURE_HTTP=1): HSTS would lock it out."""
    response = app.test_client().get("/login")
    assert response.status_code == 200 and "Strict-Transport-Security" not in response.headers
