"""The attestation page's signing step, per method, and its return from the company's provider."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.auth.oidc import SsoRefused, authorization_url
from portal.auth.oidc_views import REFUSAL_MESSAGES, register_reauthentication_handler
from portal.auth.sign_in import OIDC, PASSWORD, SSO_HEADER
from portal.auth.two_factor import second_factor_required
from portal.core.i18n import current_locale
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.training import loaders
from portal.training.forms import AttestForm, HeaderAttestForm, ReauthAttestForm
from portal.training.presenters import reason_message
from portal.training.services import attest_edition, statement_hash, statement_texts
from portal.training.signing import KEY_PHRASES, SignatureRefused, check_signature, record_signature_refusal

#: Name under which the attestation finishes a re-authentication (portal.auth.oidc_views).
HANDLER = "attest"
SIGNATURE_MESSAGES = {
    "wrong_password": _l("The password is not correct."),
    "wrong_employee_no": _l("This is not your employee number."),
    "wrong_key_phrase": _l("The key phrase does not match. Type it exactly as shown."),
    "not_reauthenticated": _l("The company sign-in did not ask for your password again after you pressed the "
                              "button, so nothing was recorded. Please try again."),
    "no_auth_time": _l("The company sign-in did not say when you signed in, so nothing was recorded."),
    "different_person": REFUSAL_MESSAGES["different_person"],
    "code_missing": _l("Enter the code from your authenticator app."),
    "wrong_code": _l("The code is not correct, or it has been used already."),
}


def signing_form(method: str):
    """The form that signs by this method."""
    return {OIDC: ReauthAttestForm, SSO_HEADER: HeaderAttestForm}.get(method, AttestForm)()


def signature_message(reason: str) -> str:
    """Why a signature was refused, in the person's language."""
    return str(SIGNATURE_MESSAGES.get(reason, _l("The signature could not be confirmed.")))


def start_oidc_signature(manual, state):
    """Remember what the person is signing and when they pressed the button; send them to the provider."""
    intent = {"manual": manual.slug, "edition_id": state.edition.id,
              "statement_hash": statement_hash(statement_texts(state.edition)),
              "clicked_at": utcnow().timestamp(), "locale": current_locale()}
    try:
        url = authorization_url("reauth", locale=current_locale(), handler=HANDLER, intent=intent,
                                return_to=url_for("training.attest", slug=manual.slug))
    except SsoRefused as refusal:
        flash(str(REFUSAL_MESSAGES.get(refusal.code, REFUSAL_MESSAGES["unavailable"])), "error")
        return redirect(url_for("training.attest", slug=manual.slug))
    return redirect(url, 303)


def complete_oidc_attestation(person, identity, intent: dict):
    """Back from the provider: record the attestation signed by this re-authentication, or say why not."""
    manual = loaders.manual_by_slug(str(intent.get("manual", "")))
    try:
        signature = check_signature(person, OIDC, {"identity": identity, "intent": intent})
    except SignatureRefused as refusal:
        record_signature_refusal(person, manual, OIDC, refusal.code)
        db.session.commit()
        return render_template("training/signature_refused.html", manual=manual,
                               message=signature_message(refusal.code)), 403
    try:
        attestation = attest_edition(
            person, manual, signature=signature, locale=str(intent.get("locale") or "ja"),
            client_address=request.remote_addr or "", user_agent=request.user_agent.string or "",
            edition_id=intent.get("edition_id"), statement_seen=intent.get("statement_hash"))
    except Refusal as error:
        db.session.rollback()
        flash(reason_message(error.code), "warning")
        return redirect(url_for("training.overview", slug=manual.slug))
    db.session.commit()
    return redirect(url_for("training.attestation_done", attestation_id=attestation.id))


def install(state) -> None:
    """Blueprint set-up: the provider's answer to an attestation's re-authentication comes back here."""
    register_reauthentication_handler(state.app, HANDLER, complete_oidc_attestation)


def attest_page_context(method: str) -> dict:
    """What the attestation template needs to show the signing step of this method."""
    return {"signing_method": method, "key_phrase": KEY_PHRASES.get(current_locale(), KEY_PHRASES["ja"]),
            "needs_code": method == PASSWORD and second_factor_required(current_user)}
