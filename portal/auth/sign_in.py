"""Starting a signed-in session, whatever proved who the person is, and remembering how.

A local sign-in may need a second step: between a correct password and a correct second factor
the browser is NOT signed in. Its session holds only a short-lived note of who is half-way (and,
during enrolment, the new TOTP secret, so it never reaches the database before it is confirmed).
The note dies with the person's session version (deactivation, reset by an admin) and after
PENDING_SECONDS.
"""
from __future__ import annotations

from flask import current_app, redirect, request, session, url_for
from flask_login import current_user, login_user
from itsdangerous import URLSafeSerializer

from portal.core import timeutil
from portal.extensions import db
from portal.org.models import Person

#: How a person signed in; the attestation is signed the same way (portal/training/signing.py).
PASSWORD = "password"
OIDC = "oidc"
SSO_HEADER = "sso_header"
SIGN_IN_METHODS = (PASSWORD, OIDC, SSO_HEADER)
#: Session key holding the method.
METHOD_KEY = "auth_method"
PENDING_KEY = "sign_in_pending"
PENDING_SECONDS = 10 * 60
#: How the signed-in session passed the second-factor rule: not_needed, totp or recovery_code.
#: Sessions from other sign-in methods (SSO) carry no such note.
SECOND_FACTOR_KEY = "second_factor"
#: The signed cookie naming the last account signed in from this browser (the per-account throttle spares it).
KNOWN_DEVICE_COOKIE = "portal_device"
KNOWN_DEVICE_DAYS = 180


def _fresh_session() -> None:
    """Nothing from before survives, except the chosen language (a new cookie, SECURITY.md row 2)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def begin_session(person: Person, method: str, second_factor: str | None = None) -> None:
    """A fresh signed-in session for a person who just proved who they are, remembering how."""
    _fresh_session()
    login_user(person)
    now = timeutil.utcnow().timestamp()
    session["login_at"] = now
    session["seen_at"] = now
    session[METHOD_KEY] = method
    if second_factor is not None:
        session[SECOND_FACTOR_KEY] = second_factor
    session.permanent = True


def begin_second_factor(person: Person, next_url: str):
    """Remember who passed the password, and send them to the second step (or to enrolment)."""
    _fresh_session()
    session[PENDING_KEY] = {"person": person.id, "version": person.session_version,
                            "until": timeutil.utcnow().timestamp() + PENDING_SECONDS, "next": next_url}
    return redirect(url_for("auth.second_factor"))


def pending_person() -> Person | None:
    """The person half-way through signing in, while the note is fresh and they are still active."""
    note = session.get(PENDING_KEY)
    if not isinstance(note, dict) or note.get("until", 0) < timeutil.utcnow().timestamp():
        return None
    person = db.session.get(Person, note.get("person"))
    if person is None or not person.active or person.session_version != note.get("version"):
        return None
    return person


def pending_value(name: str, default=None):
    """A value kept in the pending note (next, secret)."""
    note = session.get(PENDING_KEY)
    return note.get(name, default) if isinstance(note, dict) else default


def keep_pending_value(name: str, value) -> None:
    """Add a value to the pending note (the enrolment secret)."""
    note = dict(session.get(PENDING_KEY) or {})
    note[name] = value
    session[PENDING_KEY] = note


def open_session(person: Person, second_factor: str) -> None:
    """Sign the person in on a fresh session after their password (and second factor, if any)."""
    begin_session(person, PASSWORD, second_factor)


def device_signer() -> URLSafeSerializer:
    """The signer of the known-device cookie."""
    return URLSafeSerializer(current_app.secret_key, salt="portal.known-device")


def remember_device(response, person: Person) -> None:
    """Mark this browser as one the person signed in from (the per-account throttle spares it)."""
    response.set_cookie(
        KNOWN_DEVICE_COOKIE, device_signer().dumps(person.employee_no.strip().lower()[:40]),
        max_age=KNOWN_DEVICE_DAYS * 86400, path=url_for("auth.login"), httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax",
    )


def start_session(person: Person, next_url: str, second_factor: str):
    """Sign the person in and go on to next_url."""
    open_session(person, second_factor)
    response = redirect(next_url)
    remember_device(response, person)
    return response


def sign_in_method() -> str:
    """How the signed-in person got in: the method stored at sign-in, else the trusted header, else a password.

    The trusted header has no sign-in moment (the proxy names the person on every request), so it
    is recognised here; sessions from before methods were recorded were all password sign-ins.
    """
    stored = session.get(METHOD_KEY)
    if stored in (PASSWORD, OIDC):
        return stored
    header = current_app.config.get("PORTAL_SSO_HEADER")
    if header and current_user.is_authenticated:
        if (request.headers.get(header) or "").strip() == current_user.employee_no:
            return SSO_HEADER
    return PASSWORD
