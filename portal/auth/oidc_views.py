"""Company SSO pages on the auth blueprint: start at the provider, come back, or be told why not."""
from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from portal.auth.blueprint import bp
from portal.auth.local_login import checked_mode, password_form_shown
from portal.auth.oidc import (
    ID_TOKEN_KEY,
    MAX_KEPT_ID_TOKEN,
    PENDING_KEY,
    SUBJECT_KEY,
    SsoRefused,
    VerifiedIdentity,
    authorization_url,
    finish_flow,
    is_enabled,
    provider_origins,
    reauthentication_refusal,
    settings_from,
    sign_in_refusal,
)
from portal.auth.services import find_person
from portal.auth.sign_in import OIDC, begin_session
from portal.auth.sso_services import record_sso_refusal, record_sso_sign_in
from portal.auth.views import LOGIN_LIMIT_PER_CLIENT, _safe_next
from portal.core.access import public
from portal.core.i18n import current_locale
from portal.extensions import db, limiter

#: What a person is told, per audit reason (a re-authentication has its own words for some).
REFUSAL_MESSAGES = {
    "unknown_employee": _l("Your company account was confirmed, but its employee number is not registered in "
                           "this portal. Please ask your training administrator."),
    "deactivated": _l("Your use of this portal has been stopped. Please ask your training administrator."),
    "missing_claim": _l("The company sign-in did not tell us your employee number. Please ask your "
                        "system administrator."),
    "wrong_audience": _l("The company sign-in answered for another application, so it cannot sign you in here."),
    "wrong_issuer": _l("The answer did not come from the company sign-in service this portal uses."),
    "expired": _l("The company sign-in answer has expired. Please sign in again."),
    "replayed": _l("This company sign-in answer has already been used. Please sign in again."),
    "invalid_state": _l("The sign-in was interrupted (it was started in another tab, or too long ago). "
                        "Please sign in again."),
    "provider_error": _l("The company sign-in service refused or was cancelled (%(error)s)."),
    "invalid_token": _l("The company sign-in answer could not be verified."),
    "unavailable": _l("The company sign-in service cannot be reached right now. Please try again later."),
    "different_person": _l("You confirmed with a different company account than the one signed in here, "
                           "so nothing was recorded."),
    "signed_out": _l("Your portal session ended while you were confirming. Please sign in again."),
    "not_configured": _l("Company sign-in is not set up for this portal."),
}
#: HTTP status per reason: the person or token is not acceptable (403), the exchange failed (400).
REFUSAL_STATUS = {"unknown_employee": 403, "deactivated": 403, "missing_claim": 403, "wrong_audience": 403,
                  "different_person": 403, "signed_out": 403, "unavailable": 503, "not_configured": 404}
#: Who handles a finished re-authentication: name → function(person, identity, intent) → response.
HANDLERS_KEY = "portal_oidc_reauth_handlers"


def register_reauthentication_handler(app, name: str, handler) -> None:
    """Let a feature finish what it asked the provider to confirm (training: the attestation)."""
    app.extensions.setdefault(HANDLERS_KEY, {})[name] = handler


def _check_settings(state) -> None:
    """At start-up: PORTAL_LOCAL_LOGIN and the PORTAL_OIDC_* settings make sense, or the app does not start."""
    app = state.app
    app.config["PORTAL_LOCAL_LOGIN"] = checked_mode(app.config.get("PORTAL_LOCAL_LOGIN", "all"))
    settings_from(app.config)
    app.after_request(_allow_provider_as_form_target)


bp.record_once(_check_settings)


def _allow_provider_as_form_target(response):
    """Forms that end at the provider (attest, sign out) redirect there: CSP form-action must allow it."""
    csp = response.headers.get("Content-Security-Policy", "")
    if "form-action 'self'" in csp and is_enabled():
        origins = " ".join(provider_origins())
        response.headers["Content-Security-Policy"] = csp.replace("form-action 'self'", f"form-action 'self' {origins}")
    return response


@bp.context_processor
def _sign_in_choices() -> dict:
    """What the sign-in page offers: the company SSO button and whether the password form is shown."""
    mode = current_app.config["PORTAL_LOCAL_LOGIN"]
    return {"sso_enabled": is_enabled(), "local_login_mode": mode, "password_form_shown": password_form_shown(mode)}


def refusal_page(reason: str, purpose: str, *, error: str = "", back_url: str | None = None):
    """The page that says why the company sign-in did not go through (the portal's own layout)."""
    message = REFUSAL_MESSAGES.get(reason, REFUSAL_MESSAGES["invalid_token"])
    text = str(message) % {"error": error or "-"} if reason == "provider_error" else str(message)
    retry = url_for("auth.oidc_login") if purpose == "login" and is_enabled() else None
    title = _("Your identity could not be confirmed") if purpose == "reauth" else _("Company sign-in did not succeed")
    return render_template("auth/sso_refused.html", title=title, message=text, retry_url=retry,
                           back_url=_safe_next(back_url) if back_url else None), REFUSAL_STATUS.get(reason, 400)


def _refused(reason: str, pending: dict | None, *, person=None, employee_no: str = "", **details):
    """Audit a refusal (auth.sso_refused) and show its page."""
    purpose = (pending or {}).get("purpose") or "login"
    record_sso_refusal(person, reason, purpose, employee_no=employee_no, **details)
    db.session.commit()
    return refusal_page(reason, purpose, error=details.get("error", ""), back_url=(pending or {}).get("return_to"))


@bp.route("/auth/oidc/login")
@public
def oidc_login():
    """Send the browser to the company's sign-in page (authorization code flow with PKCE)."""
    if not is_enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    try:
        url = authorization_url("login", locale=current_locale(), next_url=_safe_next(request.args.get("next")))
    except SsoRefused as refusal:
        current_app.logger.warning("company sign-in could not start: %s %s", refusal.code, refusal.details)
        return refusal_page(refusal.code, "login", error=refusal.details.get("error", ""))
    return redirect(url)


@bp.route("/auth/oidc/callback")
@public
@limiter.limit(LOGIN_LIMIT_PER_CLIENT, deduct_when=lambda response: response.status_code >= 400)
def oidc_callback():
    """The provider's answer: sign in, or hand a re-authentication to the feature that asked for it."""
    if not is_enabled():
        abort(404)
    pending = session.pop(PENDING_KEY, None)
    try:
        identity = finish_flow(request.args, pending)
    except SsoRefused as refusal:  # the state (and nonce) stay used up: committed with the audit event
        person = current_user._get_current_object() if current_user.is_authenticated else None
        return _refused(refusal.code, pending, person=person, **refusal.details)
    if pending.get("purpose") == "reauth":
        return _reauthenticated(identity, pending)
    return _signed_in(identity, pending.get("next"))


def _signed_in(identity: VerifiedIdentity, next_url: str | None):
    person = find_person(identity.employee_no) if identity.employee_no else None
    refusal = sign_in_refusal(identity.employee_no, known=person is not None, active=bool(person and person.active))
    if refusal:
        return _refused(refusal, None, person=person, employee_no=identity.employee_no, subject=identity.subject)
    record_sso_sign_in(person, subject=identity.subject, auth_time=identity.auth_time)
    db.session.commit()
    begin_session(person, OIDC)
    _keep_for_logout(identity)
    return redirect(_safe_next(next_url))


def _keep_for_logout(identity: VerifiedIdentity) -> None:
    """The ID token for RP-initiated logout, in the session (never the database) when it fits the cookie."""
    session[SUBJECT_KEY] = identity.subject
    if len(identity.id_token) <= MAX_KEPT_ID_TOKEN:
        session[ID_TOKEN_KEY] = identity.id_token
    else:
        session.pop(ID_TOKEN_KEY, None)


def _reauthenticated(identity: VerifiedIdentity, pending: dict):
    if not current_user.is_authenticated:
        return _refused("signed_out", pending, employee_no=identity.employee_no)
    person = current_user._get_current_object()
    refusal = reauthentication_refusal(identity, employee_no=person.employee_no, subject=session.get(SUBJECT_KEY))
    if refusal:
        return _refused(refusal, pending, person=person, employee_no=identity.employee_no, subject=identity.subject)
    handler = current_app.extensions.get(HANDLERS_KEY, {}).get(pending.get("handler"))
    if handler is None:
        abort(400)
    _keep_for_logout(identity)
    return handler(person, identity, pending.get("intent") or {})

