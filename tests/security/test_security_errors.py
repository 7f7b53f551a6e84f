"""SECURITY.md row 26: a crash shows a calm, generic page in the user's language, never a
stack trace or the exception's text; the details go to the log only."""
from __future__ import annotations

import logging

import pytest

from portal.core.access import public

SECRET_DETAIL = "db password hunter2 at /srv/portal/secret.py"


@pytest.fixture
def crashing_app(app):
    """The test app with two test-only routes that raise (registered before any request)."""

    @public
    def crash():
        raise RuntimeError(SECRET_DETAIL)

    app.add_url_rule("/test-only/crash", "test_crash", crash)
    app.add_url_rule("/api/test-only/crash", "test_api_crash", crash)
    return app


def _assert_nothing_leaks(body: str) -> None:
    for leak in ("Traceback", "RuntimeError", "hunter2", "secret.py", 'File "', "werkzeug", "line "):
        assert leak not in body, f"{leak!r} leaked into the error page"


def test_a_crash_shows_a_generic_japanese_page(crashing_app, client, caplog):
    with caplog.at_level(logging.ERROR):
        response = client.get("/test-only/crash")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "システムで問題が発生しました" in body
    _assert_nothing_leaks(body)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "object-src 'none'" in response.headers["Content-Security-Policy"]
    assert any(SECRET_DETAIL in (record.exc_text or str(record.exc_info)) for record in caplog.records), \
        "the details should reach the log"


def test_a_crash_in_english(crashing_app, client):
    response = client.get("/test-only/crash", headers={"Accept-Language": "en"})
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    _assert_nothing_leaks(body)


def test_an_api_crash_answers_generic_json(crashing_app, client):
    response = client.get("/api/test-only/crash")
    assert response.status_code == 500
    assert response.is_json and response.get_json()["status"] == 500
    _assert_nothing_leaks(response.get_data(as_text=True))


def test_a_crash_for_a_signed_in_person_leaves_their_session_working(crashing_app, client, make_person, login):
    login(make_person("E1"))
    assert client.get("/test-only/crash").status_code == 500
    assert client.get("/").status_code == 200


def test_a_wrong_method_answers_405_naming_the_allowed_methods(client, make_person, login):
    """RFC 9110: a 405 carries Allow; the calm page (or JSON under /api/) stays as it was."""
    login(make_person("E1"))
    page = client.get("/logout")  # signing out changes state: POST only
    assert page.status_code == 405 and "POST" in page.headers["Allow"] and "GET" not in page.headers["Allow"]
    assert "この方法では操作できません。" in page.get_data(as_text=True)
    api = client.post("/api/v1/access-decisions?system=x&employee=y")
    assert api.status_code == 405 and api.is_json and api.get_json()["status"] == 405
    assert {"GET", "HEAD"} <= {method.strip() for method in api.headers["Allow"].split(",")}
    assert "POST" not in api.headers["Allow"]


@pytest.fixture
def failing_transaction_app(app):
    """A test-only route whose database transaction fails half-way, then raises."""

    @public
    def fail_mid_transaction():
        from sqlalchemy import text

        from portal.extensions import db

        try:
            db.session.execute(text("SELECT * FROM no_such_table"))
        except Exception:  # noqa: BLE001 - the session is now in a failed transaction
            pass
        raise RuntimeError(SECRET_DETAIL)

    app.add_url_rule("/test-only/fail-mid-transaction", "test_fail_mid_transaction", fail_mid_transaction)
    return app


def test_a_crash_inside_a_failed_transaction_still_shows_the_portal_page(
        failing_transaction_app, client, make_person, login):
    """Row 26: the error page itself never fails: it rolls the failed transaction back first
    (the page reads the signed-in person's name and roles from the database)."""
    login(make_person("E1", name="髙橋 優子", roles=("manager",)))
    response = client.get("/test-only/fail-mid-transaction")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "システムで問題が発生しました" in body
    assert "髙橋 優子" in body  # the page still knows who is signed in
    _assert_nothing_leaks(body)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/").status_code == 200
