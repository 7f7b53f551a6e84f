"""The current-password check on the password page is throttled per person (like the attestation's)
and every wrong password is an audit event (like a failed sign-in)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.auth import services as auth_services
from portal.extensions import db
from tests.conftest import PASSWORD, csrf_token_from

THROTTLED = "試行回数が多すぎます"
NEW = "a-brand-new-passphrase"


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch):
    """A plain comparison instead of argon2: the limit is under test, not the hashing."""
    monkeypatch.setattr(auth_services, "check_password", lambda stored, given: bool(stored) and given == PASSWORD)


def _change(client, current: str, confirm: str = NEW):
    response = client.post("/account/password", data={
        "csrf_token": csrf_token_from(client, "/account/password"), "current_password": current,
        "new_password": NEW, "confirm_password": confirm})
    response.close()
    return response


def _failures() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "auth.password_check_failed"))


def test_wrong_current_passwords_are_audited_then_throttled(client, make_person, login):
    person = make_person("E1")
    login(person)
    for attempt in range(10):
        response = _change(client, f"guess-{attempt}")
        assert response.status_code == 400, attempt
    assert _failures() == 10
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.password_check_failed")).first()
    assert (event.actor_id, event.object_id, event.details) == (person.id, "E1", {"purpose": "password_change"})
    throttled = _change(client, PASSWORD)  # even the right password waits now
    assert throttled.status_code == 429
    assert _failures() == 10
    db.session.expire_all()
    assert auth_services.check_password(person.password_hash, PASSWORD)  # unchanged


def test_the_429_page_says_why_in_japanese(client, make_person, login):
    login(make_person("E1"))
    for attempt in range(10):
        _change(client, f"guess-{attempt}")
    response = client.post("/account/password", data={
        "csrf_token": csrf_token_from(client, "/account/password"), "current_password": PASSWORD,
        "new_password": NEW, "confirm_password": NEW})
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)


def test_form_mistakes_do_not_count_and_the_right_password_works(client, make_person, login):
    login(make_person("E1"))
    for _ in range(6):
        assert _change(client, PASSWORD, confirm="something-else-entirely").status_code == 200  # errors shown
        weak = client.post("/account/password", data={
            "csrf_token": csrf_token_from(client, "/account/password"), "current_password": PASSWORD,
            "new_password": "aaaaaaaaaaaa", "confirm_password": "aaaaaaaaaaaa"})
        assert weak.status_code == 400  # the password rules refuse it; the current password was right
    assert _failures() == 0
    response = _change(client, PASSWORD)
    assert response.status_code == 302


def test_the_limit_is_per_person(app, client, make_person, login):
    from tests.conftest import https_client, sign_in

    login(make_person("E1"))
    for attempt in range(10):
        _change(client, f"guess-{attempt}")
    other = https_client(app)
    assert sign_in(other, make_person("E2")).status_code == 302
    assert _change(other, "wrong").status_code == 400
