"""The decision API's WSGI fast path answers exactly as the Flask view does (body, status, headers)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from portal.access.fast_api import DecisionFastPath
from portal.access.models import ApiToken
from portal.access.systems import SystemData, revoke_api_token, save_system
from portal.core.security import SECURITY_HEADERS
from portal.extensions import db
from tests.access_fixtures import START, grant_for, token_for, train

URL = "/api/v1/access-decisions"


class Recorder:
    """The Flask app behind the fast path, counting the requests that reach it."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app, self.calls = wsgi_app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def paths(app):
    """(fast path client, Flask-only client, recorder of what reached Flask through the fast path)."""
    fast_path = app.wsgi_app
    assert isinstance(fast_path, DecisionFastPath)
    recorder = Recorder(fast_path.wsgi_app)
    fast_path.wsgi_app = recorder
    yield Client(fast_path), Client(recorder.wsgi_app), recorder
    fast_path.wsgi_app = recorder.wsgi_app


def _call(client, token, method="GET", **query):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    query = query.get("raw") or query or {"system": "customer-info", "employee": "E1"}
    response = client.open(URL, method=method, query_string=query,
                           headers=headers, base_url="https://localhost")
    response.close()
    return response


def _same(paths, token, **query):
    """Ask both ways; assert identical status, body and headers; return the fast one."""
    fast_client, flask_client, recorder = paths
    before = recorder.calls
    fast = _call(fast_client, token, **query)
    assert recorder.calls == before, "the fast path sent the call on to Flask"
    slow = _call(flask_client, token, **query)
    assert fast.status == slow.status
    assert fast.get_data() == slow.get_data()
    assert list(fast.headers.items()) == list(slow.headers.items())
    for name, value in SECURITY_HEADERS:
        assert fast.headers[name] == value
    return fast


def test_allow_deny_unknown_and_no_grant_are_identical(paths, world, clock):
    train(world.employee, world)
    grant_for(world, world.employee, days=30)
    token = token_for(world)
    allowed = _same(paths, token)
    assert allowed.status_code == 200 and allowed.json["allow"] is True
    assert allowed.json["valid_until"] == (START + timedelta(days=30)).isoformat()
    assert _same(paths, token, system="customer-info", employee="E2").json["reasons"] == ["no_grant"]
    assert _same(paths, token, system="customer-info", employee="ZZZ999").json["reasons"] == ["unknown_person"]
    assert _same(paths, token, system="customer-info", employee="E1&x=髙").json["reasons"] == ["unknown_person"]
    # Repeated parameters (the first counts), "+" as a space, bytes that are not UTF-8 (kept percent-encoded).
    assert _same(paths, token, raw="employee=E1&system=customer-info&employee=E2").json["allow"] is True
    assert _same(paths, token, raw="system=customer-info&employee=E+1").json["employee"] == "E 1"
    assert _same(paths, token, raw="system=customer-info&employee=%FF%00").json["employee"] == "%FF\x00"
    clock.advance(days=30)  # the stored row's time has come: recomputed first, then read
    assert _same(paths, token).json["reasons"] == ["grant_expired"]
    assert _same(paths, token).json == {"allow": False, "reasons": ["grant_expired"], "system": "customer-info",
                                        "employee": "E1", "valid_until": None,
                                        "decided_at": (START + timedelta(days=30)).isoformat()}


def test_errors_are_identical_and_revocation_is_seen_at_once(paths, world, clock):
    other = save_system(world.admin, SystemData(code="billing", name_ja="料金システム", purposes=["請求確認"],
                                                grant_owner_nos=["G1"]))
    db.session.commit()
    token = token_for(world)
    assert _same(paths, token_for(world, other)).json == {"error": "token_not_for_system"}
    missing = _same(paths, token, system="customer-info")
    assert missing.status_code == 400 and missing.json["error"] == "missing_parameter"
    wrong = _same(paths, "nope")
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == 'Bearer realm="portal", error="invalid_token"'
    assert _same(paths, token).status_code == 200
    revoke_api_token(world.admin,
                     db.session.scalars(select(ApiToken).where(ApiToken.system_id == world.system.id)).one())
    db.session.commit()
    revoked = _same(paths, token)
    assert revoked.status_code == 401 and revoked.json == {"error": "invalid_token"}


def test_the_fast_path_records_last_use(paths, world, clock):
    token = token_for(world)
    fast_client, _flask_client, _recorder = paths
    assert _call(fast_client, token).status_code == 200
    db.session.expire_all()
    assert db.session.scalars(select(ApiToken)).one().last_used_at == START


def test_other_methods_and_no_token_go_to_flask_unchanged(paths, world, clock):
    token = token_for(world)
    fast_client, flask_client, recorder = paths
    for method, status in (("OPTIONS", 200), ("POST", 405), ("PUT", 405), ("DELETE", 405), ("HEAD", 200)):
        before = recorder.calls
        fast = _call(fast_client, token, method=method)
        assert recorder.calls == before + 1
        slow = _call(flask_client, token, method=method)
        assert fast.status_code == slow.status_code == status
        assert list(fast.headers.items()) == list(slow.headers.items()) and fast.get_data() == slow.get_data()
        if method == "OPTIONS":
            assert "GET" in fast.headers["Allow"]
    before = recorder.calls
    missing = _call(fast_client, None)
    assert recorder.calls == before + 1
    assert missing.status_code == 401 and missing.json == {"error": "missing_token"}
