"""Attesting is signing, whichever way the person signed in: a re-authentication at the real provider
(prompt=login, max_age=0) for company SSO, the employee number and key phrase behind the trusted
header, the password for local accounts. The method is on the attestation, its audit event and its
certificate."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from portal.audit.models import AuditEvent
from portal.certificates.queries import certificate_by_id
from portal.certificates.rendering import certificate_html
from portal.extensions import db
from portal.training.models import Attestation, QuizAttempt
from portal.training.status import jst_today
from tests.conftest import PASSWORD, csrf_token_from
from tests.oidc_fixtures import local_path, oidc_settings, query_of, sso_sign_in
from tests.training_fixtures import add_edition, answers_for, assign, make_manual

#: The provider is another process on the real clock: its tokens carry real times.
pytestmark = pytest.mark.real_clock("the OpenID provider signs tokens with the real time")

HEADER = "X-Remote-Employee"


@pytest.fixture
def app_overrides(oidc_provider) -> dict:
    return oidc_settings(oidc_provider)


def _pass_quiz(client, flow, person):
    """The manual assigned to the person, its quiz passed: the next step is the attestation."""
    manual = make_manual()
    assign(person, manual)
    attempt_id = flow.start(manual.slug)
    db.session.expire_all()
    attempt = db.session.get(QuizAttempt, attempt_id)
    assert flow.submit(attempt, answers_for(attempt)).status_code == 303
    return manual


def _press_attest(client, slug: str):
    token = csrf_token_from(client, f"/training/manuals/{slug}/attest")
    return client.post(f"/training/manuals/{slug}/attest", data={"csrf_token": token})


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _attestations() -> list[Attestation]:
    db.session.expire_all()
    return list(db.session.scalars(select(Attestation)))


@pytest.fixture
def sso_learner(client, at_provider, make_person):
    """E1001, signed in through the company's provider."""
    person = make_person("E1001", name="髙橋 優子")
    assert sso_sign_in(client, at_provider, "E1001").status_code == 302
    at_provider.pages.clear()
    return person


def test_an_sso_learner_signs_by_signing_in_again_at_the_provider(client, flow, at_provider, sso_learner, app):
    manual = _pass_quiz(client, flow, sso_learner)
    page = client.get(f"/training/manuals/{manual.slug}/attest").get_data(as_text=True)
    assert "社内アカウントのログイン画面が開きます" in page and 'name="password"' not in page
    clicked = datetime.now(timezone.utc).replace(microsecond=0)
    response = _press_attest(client, manual.slug)
    assert response.status_code == 303
    query = query_of(response.headers["Location"])
    assert query["prompt"] == "login" and query["max_age"] == "0"
    assert _attestations() == []  # nothing is recorded before the provider confirms
    callback = at_provider.sign_in(response.headers["Location"], "E1001")
    assert at_provider.pages == ["login"]  # asked for the password again, despite the provider session
    done = client.get(local_path(callback))
    assert done.status_code == 302 and re.search(r"/training/attestations/\d+$", done.headers["Location"])
    (attestation,) = _attestations()
    assert attestation.person_id == sso_learner.id and attestation.signature_method == "oidc"
    assert attestation.signed_auth_time >= clicked - timedelta(seconds=1)
    assert re.fullmatch(r"[0-9a-f]{64}", attestation.signature_token_hash)
    event = _events("training.attested")[0]
    assert event.details["signature_method"] == "oidc"
    assert event.details["signature_token_hash"] == attestation.signature_token_hash
    assert datetime.fromisoformat(event.details["signed_auth_time"]) == attestation.signed_auth_time
    facts = certificate_by_id(attestation.id, jst_today())
    with app.test_request_context():
        assert "社内アカウントでの再認証（OpenID Connect）" in certificate_html(facts)
    verify = client.get(f"/verify/{attestation.verification_code}").get_data(as_text=True)
    assert "社内アカウントでの再認証（OpenID Connect）" in verify


def test_a_sign_in_from_before_the_click_is_not_a_signature(client, flow, at_provider, sso_learner, clock):
    manual = _pass_quiz(client, flow, sso_learner)
    # The portal's clock says the button was pressed a minute after the provider's sign-in.
    clock.set(datetime.now(timezone.utc) + timedelta(minutes=1))
    response = _press_attest(client, manual.slug)
    callback = at_provider.sign_in(response.headers["Location"], "E1001")
    refused = client.get(local_path(callback))
    assert refused.status_code == 403
    assert "何も記録していません" in refused.get_data(as_text=True)
    assert _attestations() == []
    (event,) = _events("training.attest_refused")
    assert event.details == {"signature_method": "oidc", "reason": "not_reauthenticated"}


def test_confirming_as_someone_else_records_nothing(client, flow, at_provider, sso_learner, make_person):
    make_person("E1002", name="佐藤 花子")
    manual = _pass_quiz(client, flow, sso_learner)
    response = _press_attest(client, manual.slug)
    callback = at_provider.sign_in(response.headers["Location"], "E1002")
    refused = client.get(local_path(callback))
    assert refused.status_code == 403
    body = refused.get_data(as_text=True)
    assert "別の社内アカウント" in body and f'href="/training/manuals/{manual.slug}/attest"' in body
    assert _attestations() == []
    (event,) = _events("auth.sso_refused")
    assert event.details["reason"] == "different_person" and event.details["purpose"] == "reauth"
    assert event.actor_id == sso_learner.id and event.object_id == "E1002"


def test_a_new_edition_published_meanwhile_is_not_signed_unseen(client, flow, at_provider, sso_learner):
    manual = _pass_quiz(client, flow, sso_learner)
    response = _press_attest(client, manual.slug)
    add_edition(manual, 2)
    callback = at_provider.sign_in(response.headers["Location"], "E1001")
    back = client.get(local_path(callback))
    assert back.status_code == 302 and back.headers["Location"].endswith(f"/training/manuals/{manual.slug}")
    assert "新しい版が公開されました" in client.get(back.headers["Location"]).get_data(as_text=True)
    assert _attestations() == []


def test_the_attest_button_is_a_post_with_a_csrf_token(client, flow, sso_learner):
    manual = _pass_quiz(client, flow, sso_learner)
    assert client.post(f"/training/manuals/{manual.slug}/attest", data={}).status_code == 400
    assert client.get(f"/training/manuals/{manual.slug}/attest").status_code == 200


@pytest.mark.parametrize("app_overrides", [{"PORTAL_SSO_HEADER": HEADER}])
def test_behind_the_trusted_header_the_employee_number_and_key_phrase_sign(client, flow, make_person):
    learner = make_person("E1001", name="髙橋 優子")
    client.environ_base["HTTP_X_REMOTE_EMPLOYEE"] = "E1001"
    manual = _pass_quiz(client, flow, learner)
    page = client.get(f"/training/manuals/{manual.slug}/attest").get_data(as_text=True)
    assert "確認して誓約します" in page and 'name="key_phrase"' in page and 'name="password"' not in page
    url = f"/training/manuals/{manual.slug}/attest"

    def sign(employee_no: str, phrase: str):
        token = csrf_token_from(client, url)
        return client.post(url, data={"csrf_token": token, "employee_no": employee_no, "key_phrase": phrase})

    wrong_phrase = sign("E1001", "確認しました")
    assert wrong_phrase.status_code == 401 and "確認文言が一致しません" in wrong_phrase.get_data(as_text=True)
    wrong_number = sign("E1002", "確認して誓約します")
    assert wrong_number.status_code == 401 and "ご自身の社員番号ではありません" in wrong_number.get_data(as_text=True)
    assert _attestations() == []
    assert [e.details["reason"] for e in _events("training.attest_refused")] == ["wrong_key_phrase",
                                                                                  "wrong_employee_no"]
    assert sign("Ｅ１００１", " 確認して誓約します ").status_code == 303  # typed through an IME: full-width
    (attestation,) = _attestations()
    assert attestation.signature_method == "sso_header" and attestation.signed_auth_time is None
    assert _events("training.attested")[0].details["signature_method"] == "sso_header"


@pytest.mark.parametrize("app_overrides", [{}])
def test_a_local_account_signs_with_its_password(client, flow, make_person, login):
    learner = make_person("E1001")
    login(learner)
    manual = _pass_quiz(client, flow, learner)
    assert 'name="password"' in client.get(f"/training/manuals/{manual.slug}/attest").get_data(as_text=True)
    assert flow.attest(manual.slug, "not-my-password").status_code == 401
    assert [e.details["reason"] for e in _events("training.attest_refused")] == ["wrong_password"]
    assert flow.attest(manual.slug, PASSWORD).status_code == 303
    (attestation,) = _attestations()
    assert attestation.signature_method == "password" and attestation.signature_token_hash is None


def test_an_oidc_signature_without_auth_time_or_token_hash_cannot_be_stored(client, flow, make_person, login):
    """The database itself refuses an oidc signature that names no authentication."""
    learner = make_person("E1001")
    login(learner)
    manual = _pass_quiz(client, flow, learner)
    assert flow.attest(manual.slug, PASSWORD).status_code == 303
    (attestation,) = _attestations()
    row = {column.name: getattr(attestation, column.key) for column in Attestation.__table__.columns
           if column.name not in ("id", "person_id")}
    other = make_person("E1002")
    row.update(person_id=other.id, attempt_id=attestation.attempt_id + 10_000, verification_code="x" * 24,
               signature_method="oidc")
    with pytest.raises(Exception, match="signature_method_known"):
        db.session.execute(insert(Attestation.__table__).values(**row))
    db.session.rollback()
