"""Sign-in, sign-out, password change and language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature

from portal.auth.blueprint import bp
from portal.auth.forms import LoginForm, PasswordChangeForm
from portal.auth.local_login import LocalLoginRefused
from portal.auth.oidc import ID_TOKEN_KEY, provider_logout_url
from portal.auth.password_rules import problem_messages
from portal.auth.reauth import PASSWORD_CHECK_LIMIT, mark_wrong_password, password_check_key, wrong_password_entered
from portal.auth.services import PasswordPolicyError, authenticate, change_password, end_all_sessions
from portal.auth.sign_in import (
    KNOWN_DEVICE_COOKIE,
    METHOD_KEY,
    OIDC,
    PASSWORD,
    begin_second_factor,
    begin_session,
    device_signer,
    remember_device,
)
from portal.auth.two_factor import second_factor_required
from portal.core.access import public, signed_in
from portal.extensions import db, limiter

# Sign-in throttling (SECURITY.md row 1). Only wrong passwords count (the view answers 401);
# throttled (429) and CSRF-refused (400) requests cost nothing, so hammering does not extend a
# window. Keys use request.remote_addr, which ProxyFix rewrites only for PORTAL_TRUSTED_PROXIES:
# a spoofed X-Forwarded-For changes nothing. No limit is permanent, and an attacker at one
# address cannot lock the owner out at another: the per-account limit across all addresses is
# much higher than the per-(account, address) one and skips browsers the owner signed in from.
LOGIN_LIMIT_PER_CLIENT = "30 per 15 minutes"
LOGIN_LIMIT_PER_ACCOUNT_AND_CLIENT = "10 per 15 minutes"
LOGIN_LIMIT_PER_ACCOUNT = "50 per 15 minutes"


def _failed_login(response) -> bool:
    """Only a wrong employee number or password counts against the limits."""
    return response.status_code == 401


def _typed_account() -> str:
    return (request.form.get("employee_no", "") or "").strip().lower()[:40]


def _account_key() -> str:
    return "acct:" + _typed_account()


def _account_and_client_key() -> str:
    return f"acct-client:{_typed_account()}|{request.remote_addr or 'unknown'}"


def _known_device() -> bool:
    """True when this browser carries a signed note of an earlier sign-in to the typed account."""
    try:
        known = device_signer().loads(request.cookies.get(KNOWN_DEVICE_COOKIE, ""))
    except BadSignature:
        return False
    return isinstance(known, str) and known == _typed_account() != ""


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(LOGIN_LIMIT_PER_CLIENT, methods=["POST"], deduct_when=_failed_login)
@limiter.limit(LOGIN_LIMIT_PER_ACCOUNT_AND_CLIENT, methods=["POST"], key_func=_account_and_client_key,
               deduct_when=_failed_login)
@limiter.limit(LOGIN_LIMIT_PER_ACCOUNT, methods=["POST"], key_func=_account_key, deduct_when=_failed_login,
               exempt_when=_known_device)
def login():
    """Show the sign-in form; sign in on a correct password."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            person = authenticate(form.employee_no.data, form.password.data,
                                  local_login=current_app.config["PORTAL_LOCAL_LOGIN"])
        except LocalLoginRefused as refused:  # PORTAL_LOCAL_LOGIN, enforced here and not only by the page
            db.session.commit()
            return render_template("auth/login.html", form=form, local_login_refused=refused.code), 403
        db.session.commit()
        if person is not None:
            if second_factor_required(person):
                return begin_second_factor(person, _safe_next(request.args.get("next")))
            begin_session(person, PASSWORD, second_factor="not_needed")
            response = redirect(_safe_next(request.args.get("next")))
            remember_device(response, person)
            return response
        form.password.errors.append(_("The employee number or password is not correct."))
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    """Sign out here and everywhere else (every other session of this person ends too)."""
    id_token, method = session.get(ID_TOKEN_KEY), session.get(METHOD_KEY)
    end_all_sessions(current_user._get_current_object(), "auth.logout")
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    after = url_for("auth.login")
    # Signed in through the company SSO: sign out there too (RP-initiated logout) when it allows.
    provider = provider_logout_url(id_token, current_app.config["PORTAL_BASE_URL"].rstrip("/") + after) \
        if method == OIDC else None
    return redirect(provider or after)


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
@limiter.limit(PASSWORD_CHECK_LIMIT, methods=["POST"], key_func=password_check_key, deduct_when=wrong_password_entered)
def password():
    """Change one's own password; other sessions end."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        person = current_user._get_current_object()
        try:
            change_password(person, form.current_password.data, form.new_password.data)
        except PasswordPolicyError as error:
            db.session.commit()  # only the audit event of a wrong current password, if any
            if error.field == "current_password":
                mark_wrong_password()
                form.current_password.errors.append(_("The current password is not correct."))
            else:
                form.new_password.errors.extend(problem_messages(error.problems))
            return render_template("auth/password.html", form=form), 400
        db.session.commit()
        login_user(person)  # this session carries on under the new session version
        flash(_("Your password has been changed. Other sessions have been signed out."), "success")
        return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form)


@bp.route("/language", methods=["POST"])
@public
def language():
    """Switch the interface language (ja or en) and go back."""
    chosen = request.form.get("lang", "")
    if chosen not in current_app.config["PORTAL_LOCALES"]:
        abort(400)
    session["locale"] = chosen
    if current_user.is_authenticated:
        current_user.locale = chosen
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


# Their routes join this blueprint: links and the second factor, and company SSO.
