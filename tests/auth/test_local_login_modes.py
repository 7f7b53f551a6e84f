"""PORTAL_LOCAL_LOGIN: who may sign in with a password, enforced by POST /login and not only by the page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import create_app
from portal.audit.models import AuditEvent
from portal.auth.local_login import (
    AGENCIES_AND_ADMINS,
    ALL,
    OFF,
    REFUSED_MODE_OFF,
    REFUSED_USE_SSO,
    checked_mode,
    local_login_refusal,
)
from portal.extensions import db
from tests.conftest import PASSWORD, sign_in


def _refusals() -> list[dict]:
    db.session.expire_all()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_refused")
                                .order_by(AuditEvent.seq))
    return [{"who": event.object_id, **event.details} for event in events]


@pytest.mark.parametrize(("mode", "kind", "roles", "refusal"), [
    (ALL, "internal", (), None),
    (AGENCIES_AND_ADMINS, "agency", (), None),
    (AGENCIES_AND_ADMINS, "internal", ("admin",), None),
    (AGENCIES_AND_ADMINS, "internal", ("training_admin", "auditor"), REFUSED_USE_SSO),
    (AGENCIES_AND_ADMINS, "internal", (), REFUSED_USE_SSO),
    (AGENCIES_AND_ADMINS, None, (), None),  # not known yet: decided after the password
    (OFF, "agency", ("admin",), REFUSED_MODE_OFF),
    (OFF, None, (), REFUSED_MODE_OFF),
])
def test_the_rule(mode, kind, roles, refusal):
    assert local_login_refusal(mode, department_kind=kind, roles=roles) == refusal


def test_modes_are_checked_when_the_app_starts(database_url):
    assert checked_mode(" Agencies-And-Admins ") == AGENCIES_AND_ADMINS
    with pytest.raises(ValueError, match="PORTAL_LOCAL_LOGIN"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "t", "PORTAL_LOCAL_LOGIN": "sometimes"})


def test_all_is_the_default(app, client, make_person):
    assert app.config["PORTAL_LOCAL_LOGIN"] == ALL
    assert sign_in(client, make_person("E1001")).status_code == 302


@pytest.mark.parametrize("app_overrides", [{"PORTAL_LOCAL_LOGIN": AGENCIES_AND_ADMINS}])
def test_company_staff_are_sent_to_sso_and_agencies_and_admins_sign_in(app, client, make_person, make_department):
    agency = make_department("AG-01", "光通信販売株式会社", kind="agency")
    staff, admin = make_person("E1001"), make_person("S6001", roles=("admin",))
    agent = make_person("AG0001", department=agency)
    page = client.get("/login").get_data(as_text=True)
    assert 'name="password"' in page and "販売委託先の方と管理者のみ" in page
    refused = sign_in(client, staff)
    assert refused.status_code == 403
    assert "社内アカウントでログインしてください" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in
    assert sign_in(client, staff, "wrong-password").status_code == 401  # a wrong password says only that
    assert _refusals() == [{"who": "E1001", "reason": REFUSED_USE_SSO}]
    for person in (agent, admin):
        browser = app.test_client()
        browser.environ_base["wsgi.url_scheme"] = "https"
        assert sign_in(browser, person).status_code == 302, person.employee_no
        assert browser.get("/").status_code == 200


@pytest.mark.parametrize("app_overrides", [{"PORTAL_LOCAL_LOGIN": OFF}])
def test_off_shows_no_password_form_and_refuses_a_posted_one(client, make_person):
    person = make_person("S6001", roles=("admin",))
    page = client.get("/login").get_data(as_text=True)
    assert 'name="password"' not in page and "社内の認証サービスを通してログインしてください" in page
    response = sign_in(client, person, PASSWORD)
    assert response.status_code == 403
    assert "パスワードでのログインを停止しています" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert _refusals() == [{"who": "S6001", "reason": REFUSED_MODE_OFF}]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.login")) is None
