"""A privileged person signing an attestation with a local password gives their second factor too."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth.two_factor import enrol_second_factor, new_secret
from portal.extensions import db
from portal.training.models import Attestation
from tests.accounts_fixtures import code_at
from tests.conftest import PASSWORD, csrf_token_from
from tests.training_fixtures import answers_for, assign, make_manual


@pytest.fixture
def app_overrides() -> dict:
    """Production behaviour: the second factor is always asked for."""
    return {"PORTAL_DEMO_RELAX_2FA": False}


def _passed(flow, manual):
    from portal.training.models import QuizAttempt

    attempt = db.session.get(QuizAttempt, flow.start(manual.slug))
    assert flow.submit(attempt, answers_for(attempt)).status_code == 303


def _attest(client, slug: str, **fields):
    token = csrf_token_from(client, f"/training/manuals/{slug}")
    return client.post(f"/training/manuals/{slug}/attest", data={"csrf_token": token, **fields})


def test_a_training_admin_signs_with_password_and_authenticator_code(app, client, clock, make_person, flow):
    admin = make_person("T1", roles=("training_admin",))
    secret = new_secret()
    enrol_second_factor(admin, secret, code_at(secret, clock.now))
    db.session.commit()
    clock.advance(seconds=30)
    token = csrf_token_from(client, "/login")
    client.post("/login", data={"employee_no": "T1", "password": PASSWORD, "csrf_token": token})
    assert client.post("/login/two-factor", data={"code": code_at(secret, clock.now),
                                                  "csrf_token": csrf_token_from(client, "/login/two-factor")}
                       ).status_code == 302
    clock.advance(seconds=30)
    manual = make_manual()
    assign(admin, manual)
    _passed(flow, manual)

    page = client.get(f"/training/manuals/{manual.slug}/attest").get_data(as_text=True)
    assert "認証アプリのコード" in page
    missing = _attest(client, manual.slug, password=PASSWORD)
    assert missing.status_code == 401 and "認証アプリのコードを入力してください。" in missing.get_data(as_text=True)
    wrong = _attest(client, manual.slug, password=PASSWORD, code="000000")
    assert wrong.status_code == 401 and "コードが正しくないか" in wrong.get_data(as_text=True)
    assert db.session.scalars(select(Attestation)).all() == []

    done = _attest(client, manual.slug, password=PASSWORD, code=code_at(secret, clock.now))
    assert done.status_code == 303
    attestation = db.session.scalars(select(Attestation)).one()
    assert attestation.signature_method == "password"
    refusals = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "training.attest_refused")).all()
    assert [event.details.get("reason") for event in refusals] == ["code_missing", "wrong_code"]


def test_an_employee_signs_with_the_password_alone(app, client, make_person, login, flow):
    employee = make_person("E1")
    login(employee)
    manual = make_manual()
    assign(employee, manual)
    _passed(flow, manual)
    assert "認証アプリのコード" not in client.get(f"/training/manuals/{manual.slug}/attest").get_data(as_text=True)
    assert _attest(client, manual.slug, password=PASSWORD).status_code == 303
