"""Signing an attestation: the one place that decides whether the person really signed it.

A person signs the way they signed in: a local account with its password; the company SSO
(OpenID Connect) by authenticating again at the provider (prompt=login, max_age=0) after pressing
the button; the trusted SSO header (where the portal cannot re-authenticate anyone) by re-typing
their employee number and the statement's key phrase. The method is recorded on the attestation.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app

from portal.audit.services import record_event
from portal.auth.oidc import is_enabled as oidc_enabled
from portal.auth.passwords import check_password
from portal.auth.sign_in import OIDC, PASSWORD, SSO_HEADER, sign_in_method
from portal.auth.two_factor import SecondFactorRefused, check_second_factor, second_factor_required
from portal.core.refusals import Refusal
from portal.manuals.models import Manual
from portal.org.models import Person

SIGNATURE_METHODS = (PASSWORD, OIDC, SSO_HEADER)
#: What a person signing through the trusted header re-types, shown above the field (ja, en).
KEY_PHRASES = {"ja": "確認して誓約します", "en": "I confirm and attest"}
#: The provider's clock may run a little behind ours: an auth_time this many seconds before the
#: click still counts as "after the click". Anything older was an earlier sign-in, not a signature.
AUTH_TIME_SKEW_SECONDS = 5


@dataclass(frozen=True)
class Signature:
    """A checked signature, ready to be recorded on the attestation."""

    method: str
    auth_time: datetime | None = None
    token_hash: str | None = None


class SignatureRefused(Refusal):
    """The signature does not hold (`code` says why, `field` which form field): the views record each one."""


def signing_method_for(sign_in: str, *, oidc_on: bool, header_on: bool) -> str:
    """How a person who signed in by `sign_in` signs: the same way while that way is switched on, else the password."""
    if sign_in == OIDC and oidc_on:
        return OIDC
    if sign_in == SSO_HEADER and header_on:
        return SSO_HEADER
    return PASSWORD


def current_signing_method() -> str:
    """How the signed-in person signs in this request."""
    return signing_method_for(sign_in_method(), oidc_on=oidc_enabled(),
                              header_on=bool(current_app.config.get("PORTAL_SSO_HEADER")))


def check_signature(person: Person, method: str, form_data: dict) -> Signature:
    """The signature of `person` by `method`, checked; SignatureRefused when it does not hold.

    password:   form_data["password"] is the person's local password, and form_data["code"] a code of their
                second factor when their roles require one (portal.auth.two_factor.second_factor_required).
    sso_header: form_data["employee_no"] and form_data["key_phrase"] are re-typed.
    oidc:       form_data["identity"] is the verified re-authentication (portal.auth.oidc.VerifiedIdentity)
                and form_data["intent"] what the person pressed the button on, and when (clicked_at).
    """
    if method == PASSWORD:
        if not check_password(person.password_hash, form_data.get("password") or ""):
            raise SignatureRefused("wrong_password", "password")
        if second_factor_required(person):  # privileged roles sign with the second factor too
            if not (form_data.get("code") or "").strip():
                raise SignatureRefused("code_missing", "code")
            try:
                check_second_factor(person, form_data["code"])
            except SecondFactorRefused as refused:
                raise SignatureRefused("wrong_code", "code") from refused
        return Signature(PASSWORD)
    if method == SSO_HEADER:
        reason = typed_signature_refusal(person.employee_no, form_data.get("employee_no") or "",
                                         form_data.get("key_phrase") or "")
        if reason:
            raise SignatureRefused(reason, "employee_no" if reason == "wrong_employee_no" else "key_phrase")
        return Signature(SSO_HEADER)
    if method == OIDC:
        identity, intent = form_data["identity"], form_data["intent"]
        if identity.employee_no != person.employee_no:
            raise SignatureRefused("different_person")
        reason = reauthentication_time_refusal(clicked_at=float(intent["clicked_at"]), auth_time=identity.auth_time)
        if reason:
            raise SignatureRefused(reason)
        return Signature(OIDC, datetime.fromtimestamp(identity.auth_time, tz=timezone.utc), identity.token_hash)
    raise SignatureRefused("unknown_method")


def record_signature_refusal(person: Person, manual: Manual, method: str, reason: str) -> None:
    """Audit a refused signature (training.attest_refused); flushes, never commits."""
    record_event(person, "training.attest_refused", object_type="manual", object_id=manual.slug,
                 details={"signature_method": method, "reason": reason})


# --- pure decisions -------------------------------------------------------------------------------


def _normalised(text: str) -> str:
    """NFKC (full-width digits and letters typed through an IME become plain), no spaces, case-folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def typed_signature_refusal(employee_no: str, typed_employee_no: str, typed_phrase: str) -> str | None:
    """Why a re-typed employee number and key phrase do not sign, or None when both match."""
    if _normalised(typed_employee_no) != _normalised(employee_no):
        return "wrong_employee_no"
    if _normalised(typed_phrase) not in {_normalised(phrase) for phrase in KEY_PHRASES.values()}:
        return "wrong_key_phrase"
    return None


def reauthentication_time_refusal(*, clicked_at: float, auth_time: int | None,
                                  skew: int = AUTH_TIME_SKEW_SECONDS) -> str | None:
    """Why a re-authentication is not a signature made after the click, or None when it is."""
    if auth_time is None:
        return "no_auth_time"
    if auth_time < clicked_at - skew:
        return "not_reauthenticated"
    return None
