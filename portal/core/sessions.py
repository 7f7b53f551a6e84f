"""The session cookie: Flask's signed cookie, made cheaper for requests that send none."""
from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building the cookie signer for requests that send no cookie.

    Machine calls (the decision API) never send one; Flask would answer them with an empty session
    too, after building an itsdangerous serializer for nothing.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """An empty session when there is no cookie (and a key to sign one later); otherwise Flask's."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)
