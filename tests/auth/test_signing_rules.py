"""The pure decisions of company SSO and of signing an attestation, without an app or a database."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError, MissingClaimError

from portal.auth.oidc import (
    VerifiedIdentity,
    employee_number_from,
    reauthentication_refusal,
    refusal_for_token_error,
    settings_from,
    sign_in_refusal,
    token_reference_hash,
)
from portal.training.signing import (
    AUTH_TIME_SKEW_SECONDS,
    SignatureRefused,
    check_signature,
    reauthentication_time_refusal,
    signing_method_for,
    typed_signature_refusal,
)

CLICK = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc).timestamp()


def _identity(employee_no: str = "E1001", subject: str = "sub-1", auth_time: int | None = int(CLICK) + 20):
    return VerifiedIdentity(subject=subject, employee_no=employee_no, auth_time=auth_time, token_hash="h" * 64,
                            id_token="a.b.c")


@pytest.mark.parametrize(("auth_time", "refusal"), [
    (int(CLICK) + 30, None),                              # signed in again after the click
    (int(CLICK), None),
    (int(CLICK) - AUTH_TIME_SKEW_SECONDS, None),          # the provider's clock a little behind
    (int(CLICK) - AUTH_TIME_SKEW_SECONDS - 1, "not_reauthenticated"),
    (int(CLICK) - 3600, "not_reauthenticated"),           # the sign-in of an hour ago is no signature
    (None, "no_auth_time"),
])
def test_only_an_authentication_after_the_click_signs(auth_time, refusal):
    assert reauthentication_time_refusal(clicked_at=CLICK, auth_time=auth_time) == refusal


def test_check_signature_turns_a_fresh_reauthentication_into_an_oidc_signature():
    person = SimpleNamespace(employee_no="E1001", password_hash="")
    signature = check_signature(person, "oidc", {"identity": _identity(), "intent": {"clicked_at": CLICK}})
    assert signature.method == "oidc" and signature.token_hash == "h" * 64
    assert signature.auth_time == datetime.fromtimestamp(int(CLICK) + 20, tz=timezone.utc)
    for identity, reason in ((_identity(auth_time=int(CLICK) - 60), "not_reauthenticated"),
                             (_identity(employee_no="E1002"), "different_person")):
        with pytest.raises(SignatureRefused) as refused:
            check_signature(person, "oidc", {"identity": identity, "intent": {"clicked_at": CLICK}})
        assert refused.value.code == reason


@pytest.mark.parametrize(("sign_in", "oidc_on", "header_on", "method"), [
    ("password", True, True, "password"),
    ("oidc", True, False, "oidc"),
    ("oidc", False, False, "password"),         # SSO switched off since: the password, if any
    ("sso_header", False, True, "sso_header"),
    ("sso_header", False, False, "password"),
])
def test_people_sign_the_way_they_signed_in(sign_in, oidc_on, header_on, method):
    assert signing_method_for(sign_in, oidc_on=oidc_on, header_on=header_on) == method


@pytest.mark.parametrize(("typed_no", "phrase", "refusal"), [
    ("E1001", "確認して誓約します", None),
    ("ｅ１００１", "確認して 誓約します", None),          # full-width, lower case, a stray space
    ("E1001", "I confirm and attest", None),
    ("E1002", "確認して誓約します", "wrong_employee_no"),
    ("", "確認して誓約します", "wrong_employee_no"),
    ("E1001", "確認しました", "wrong_key_phrase"),
    ("E1001", "", "wrong_key_phrase"),
])
def test_the_typed_signature(typed_no, phrase, refusal):
    assert typed_signature_refusal("E1001", typed_no, phrase) == refusal


@pytest.mark.parametrize(("employee_no", "known", "active", "refusal"), [
    ("E1001", True, True, None),
    ("", True, True, "missing_claim"),
    ("Z9999", False, False, "unknown_employee"),
    ("E1002", True, False, "deactivated"),
])
def test_only_active_people_known_to_the_portal_sign_in(employee_no, known, active, refusal):
    assert sign_in_refusal(employee_no, known=known, active=active) == refusal


def test_a_reauthentication_must_be_the_signed_in_person():
    assert reauthentication_refusal(_identity(), employee_no="E1001", subject="sub-1") is None
    assert reauthentication_refusal(_identity(), employee_no="E1001", subject=None) is None
    assert reauthentication_refusal(_identity(), employee_no="E1002", subject="sub-1") == "different_person"
    assert reauthentication_refusal(_identity(subject="sub-2"), employee_no="E1001", subject="sub-1") == \
        "different_person"
    assert reauthentication_refusal(_identity(employee_no=""), employee_no="E1001", subject=None) == "missing_claim"


@pytest.mark.parametrize(("claims", "expected"), [
    ({"employee_no": " E1001 "}, "E1001"),
    ({"employee_no": 123456}, "123456"),
    ({"employee_no": ""}, ""),
    ({"employee_no": None}, ""),
    ({"employee_no": True}, ""),
    ({"employee_no": ["E1001"]}, ""),
    ({}, ""),
])
def test_the_employee_number_claim(claims, expected):
    assert employee_number_from(claims, "employee_no") == expected


def test_the_token_reference_prefers_jti_then_sid_then_the_token():
    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    assert token_reference_hash({"jti": "j1", "sid": "s1"}, "a.b.c") == sha("jti:j1")
    assert token_reference_hash({"sid": "s1"}, "a.b.c") == sha("sid:s1")
    assert token_reference_hash({}, "a.b.c") == sha("id_token:a.b.c")


@pytest.mark.parametrize(("error", "reason"), [
    (ExpiredTokenError("exp"), "expired"),
    (InvalidClaimError("aud"), "wrong_audience"),
    (MissingClaimError("azp"), "wrong_audience"),
    (InvalidClaimError("iss"), "wrong_issuer"),
    (InvalidClaimError("nonce"), "replayed"),
    (InvalidClaimError("iat"), "invalid_token"),
    (BadSignatureError(), "invalid_token"),
])
def test_token_errors_map_to_reasons(error, reason):
    assert refusal_for_token_error(error) == reason


def test_settings_are_complete_or_refused():
    assert settings_from({"PORTAL_OIDC_ISSUER": ""}) is None
    with pytest.raises(ValueError, match="CLIENT_ID"):
        settings_from({"PORTAL_OIDC_ISSUER": "https://login.example/tenant/v2.0"})
    with pytest.raises(ValueError, match="openid"):
        settings_from({"PORTAL_OIDC_ISSUER": "https://idp", "PORTAL_OIDC_CLIENT_ID": "c",
                       "PORTAL_OIDC_CLIENT_SECRET": "s", "PORTAL_OIDC_SCOPES": "profile email"})
    settings = settings_from({"PORTAL_OIDC_ISSUER": "https://idp/realms/corp", "PORTAL_OIDC_CLIENT_ID": "portal",
                              "PORTAL_OIDC_CLIENT_SECRET": "s"})
    assert settings.employee_claim == "employee_no" and settings.scopes == "openid"
