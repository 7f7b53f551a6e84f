"""Deny by default: every endpoint declares who may use it, checked before the view runs."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import abort, current_app, g, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal.core.timeutil import utcnow

PUBLIC = "public"
SIGNED_IN = "signed_in"
TOKEN = "token"  # the view authenticates a bearer token itself


def public(view: Callable) -> Callable:
    """Anyone may call this endpoint, signed in or not."""
    view._access = PUBLIC
    return view


def signed_in(view: Callable) -> Callable:
    """Any active, signed-in person may call this endpoint."""
    view._access = SIGNED_IN
    return view


def token_protected(view: Callable) -> Callable:
    """A machine endpoint that checks its own bearer token."""
    view._access = TOKEN
    return view


def roles_required(*roles: str) -> Callable[[Callable], Callable]:
    """Only people holding one of these roles may call this endpoint."""

    def mark(view: Callable) -> Callable:
        view._access = frozenset(roles)
        return view

    return mark


def no_auditor_writes(view):
    """Auditors read everything and change nothing: 403 on any write, whatever other roles they hold."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if request.method not in ("GET", "HEAD") and current_user.has_role("auditor"):
            abort(403)
        return view(*args, **kwargs)

    return guarded


def access_rule(endpoint: str | None):
    """The declared rule of an endpoint, or None when it declared nothing."""
    if endpoint is None:
        return PUBLIC  # no route matched: let the 404 happen
    if endpoint == "static":
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "_access", None)


def is_token_request() -> bool:
    """True when the matched endpoint checks its own bearer token (machine calls; the rate limiter skips them)."""
    return access_rule(request.endpoint) == TOKEN if request.endpoint else False


def _wants_json() -> bool:
    return request.path.startswith("/api/")


#: The last-use stamp is rewritten at most once a minute: rewriting it on every request re-signed
#: and re-sent the session cookie each time (about a tenth of a quiz submission's CPU). The idle
#: limit then counts from up to a minute before the last request: sessions end a little early, never late.
SEEN_AT_RESOLUTION_SECONDS = 60


def seen_stamp_is_stale(seen_at: float | None, now: float) -> bool:
    """True when the session's last-use stamp should be rewritten (missing, or a minute old)."""
    return seen_at is None or now - seen_at >= SEEN_AT_RESOLUTION_SECONDS


def _session_expired() -> bool:
    """True when the idle or absolute session lifetime has passed."""
    now = utcnow().timestamp()
    idle = current_app.config["PORTAL_SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    login_at = session.get("login_at", now)
    seen_at = session.get("seen_at", now)
    return now - seen_at > idle or now - login_at > absolute


def _authenticated_by_proxy() -> bool:
    """True in SSO mode when this request names its person in the proxy's header.

    The proxy authenticates each such request anew, so there is no sign-in here to expire. A
    session from a password sign-in (a break-glass admin, no header) keeps its idle and absolute
    lifetimes in every mode.
    """
    header = current_app.config.get("PORTAL_SSO_HEADER")
    return bool(header and (request.headers.get(header) or "").strip())


def enforce_access():
    """before_request: refuse what the endpoint's rule does not allow."""
    g.audit_source = request.remote_addr or "unknown"
    rule = access_rule(request.endpoint)
    if rule is None:
        current_app.logger.error("endpoint %s declares no access rule: denied", request.endpoint)
        abort(403)
    if rule in (PUBLIC, TOKEN):
        return None
    if current_user.is_authenticated and not _authenticated_by_proxy():
        if _session_expired():
            logout_user()
            session.clear()
            return _sign_in_required(_("Your session has expired. Please sign in again."))
        now = utcnow().timestamp()
        if seen_stamp_is_stale(session.get("seen_at"), now):
            session["seen_at"] = now
    if not current_user.is_authenticated:
        return _sign_in_required(None)
    if rule == SIGNED_IN:
        return None
    if not current_user.has_role(*rule):
        abort(403)
    return None


def _sign_in_required(message: str | None):
    if _wants_json():
        return jsonify(error="authentication_required"), 401
    if message:
        from flask import flash

        flash(message, "warning")
    return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
