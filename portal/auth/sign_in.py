"""Starting a signed-in session, whatever proved who the person is, and remembering how."""
from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user, login_user

from portal.core import timeutil
from portal.org.models import Person

#: How a person signed in; the attestation is signed the same way (portal/training/signing.py).
PASSWORD = "password"
OIDC = "oidc"
SSO_HEADER = "sso_header"
SIGN_IN_METHODS = (PASSWORD, OIDC, SSO_HEADER)
#: Session key holding the method.
METHOD_KEY = "auth_method"


def begin_session(person: Person, method: str) -> None:
    """A fresh session for a person who just proved who they are: only the chosen language survives."""
    locale = session.get("locale")
    session.clear()  # nothing from before sign-in survives (a new cookie, SECURITY.md row 2)
    if locale:
        session["locale"] = locale
    login_user(person)
    now = timeutil.utcnow().timestamp()
    session["login_at"] = now
    session["seen_at"] = now
    session[METHOD_KEY] = method
    session.permanent = True


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
