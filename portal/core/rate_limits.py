"""Rate limits are checked by the views that declare them, not on every request.

Flask-Limiter checks limits twice: in a before_request hook on every request, and in the wrapper of
each view decorated with `limiter.limit` when that view runs. The portal declares no default or
application-wide limits, only limits on a few views (sign-in, attestation, certificate
verification, audit export), so the hook found nothing to do on every other request, and finding
that out cost about 0.15 ms each time (a tenth of a quiz submission's CPU). It is taken
out here; the decorated views keep their limits (tests/security/test_rate_limits_in_views.py,
tests/security/test_security_login_throttle.py and the verification page's tests see the 429s).
"""
from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter

from portal.core.access import is_token_request


def limit_in_views_only(app: Flask, limiter: Limiter) -> None:
    """Drop the limiter's per-request hook; refuse to start if app-wide limits were configured."""
    for key in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION"):
        if app.config.get(key):
            raise RuntimeError(f"{key} would need Flask-Limiter's per-request hook (portal/core/rate_limits.py)")
    hooks = app.before_request_funcs.get(None, [])
    hooks.remove(limiter._check_request_limit)  # a renamed hook fails here, loudly, not silently


def skip_machine_calls(limiter: Limiter) -> None:
    """Machine endpoints carry no limits: skipping the limiter's work there keeps the decision API lean.

    Sign-in, attestation and verification keep theirs. Added once per limiter, however many apps are created.
    """
    if is_token_request not in limiter._request_filters:
        limiter.request_filter(is_token_request)
