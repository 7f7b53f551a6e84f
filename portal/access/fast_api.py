"""The decision API's fast path: a WSGI layer in front of Flask for its one hot call.

Each call of GET /api/v1/access-decisions costs one indexed lookup (~100 µs); through Flask it also
pays for the request context, the session interface, CSRF, the limiter's filter, the access hook,
the after_request hooks and the response object, several times the lookup. This layer answers
exactly that method and path itself: it reads the bearer token and the query string as Flask would,
calls the same decision_answer() as the view (same rules, same lookup of the token's hash and
revocation on every call, same last-used recording), inside an app context, and sends the same body
(Flask's JSON, compact) with the same security headers (portal/core/security.py). Anything else —
another method or path, no bearer token, a query string Flask would not decode, an error, a debug
or differently configured app — goes to Flask unchanged, so its answers and messages stay identical.
"""
from __future__ import annotations

from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" decoding error handler
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.http import HTTP_STATUS_CODES

from portal.access.api import decision_answer, parse_bearer
from portal.access.systems import hash_token
from portal.core.security import security_headers
from portal.core.timeutil import utcnow

PATH = "/api/v1/access-decisions"
#: Flask's session interface adds this to every response (Flask-Login's after_request looks into the session).
SESSION_VARY = ("Vary", "Cookie")


class DecisionFastPath:
    """WSGI middleware: answers GET PATH itself, passes every other request to the wrapped app."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET" and self._usable():
            answer = self._answer(environ)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _usable(self) -> bool:
        """Only where Flask's own answer is known byte for byte: compact default JSON, no host rules."""
        app = self.app
        json = app.json
        return (type(json) is DefaultJSONProvider and json.compact is not False
                and not (json.compact is None and app.debug)
                and not app.config.get("SERVER_NAME") and not app.config.get("TRUSTED_HOSTS"))

    def _answer(self, environ):
        """(status line, headers, body) as Flask would send them, or None to let Flask answer."""
        token = parse_bearer(environ.get("HTTP_AUTHORIZATION"))
        if token is None:
            return None
        try:  # as werkzeug's request.args: latin-1 bytes, UTF-8, invalid bytes kept percent-encoded
            pairs = parse_qsl(environ.get("QUERY_STRING", "").encode("latin1").decode(),
                              keep_blank_values=True, errors="werkzeug.url_quote")
        except (UnicodeError, ValueError):
            return None
        args: dict[str, str] = {}
        for key, value in pairs:
            args.setdefault(key, value)  # MultiDict.get: the first value
        try:
            with self.app.app_context():
                code, payload, extra = decision_answer(hash_token(token), args.get("employee", ""),
                                                       args.get("system", ""), utcnow())
                body = f"{self.app.json.dumps(payload, separators=(',', ':'))}\n".encode()
        except Exception:  # noqa: BLE001 - Flask answers (and logs) it the usual way
            return None
        headers = [("Content-Type", self.app.json.mimetype), ("Content-Length", str(len(body))),
                   *extra.items(), *security_headers(self.app.config), SESSION_VARY]
        return f"{code} {HTTP_STATUS_CODES[code].upper()}", headers, body


def install(app: Flask) -> None:
    """Put the fast path in front of the app's WSGI callable (outermost)."""
    app.wsgi_app = DecisionFastPath(app, app.wsgi_app)
