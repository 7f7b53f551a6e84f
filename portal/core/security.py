"""Response headers every page carries."""
from __future__ import annotations

from flask import Response, current_app

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


#: Every response's security headers, in order; a view may set its own value of the DEFAULT_ONLY ones.
#: The decision API's fast path (portal/access/fast_api.py) sends these same pairs as they are.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)
DEFAULT_ONLY = frozenset({"Content-Security-Policy", "Cache-Control"})
#: Sent when cookies are Secure (the portal is served over HTTPS): browsers then refuse plain HTTP
#: to this host for a year, so a network attacker cannot downgrade the first request of a visit.
STRICT_TRANSPORT_SECURITY = ("Strict-Transport-Security", "max-age=31536000")


def security_headers(config) -> tuple[tuple[str, str], ...]:
    """The headers every response carries under this configuration (HSTS only over HTTPS)."""
    if config.get("SESSION_COOKIE_SECURE"):
        return (*SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY)
    return SECURITY_HEADERS


def add_security_headers(response: Response) -> Response:
    """after_request: strict CSP (no inline script or style), nosniff, no framing, HSTS over HTTPS."""
    for name, value in security_headers(current_app.config):
        if name in DEFAULT_ONLY:
            response.headers.setdefault(name, value)
        else:
            response.headers[name] = value
    return response
