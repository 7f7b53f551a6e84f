"""Who may call every route. A route missing here fails test_access_matrix.

Each feature adds its routes. `allowed` is ANYONE (no sign-in), SIGNED_IN (any role),
or a set of roles. URLs with ids use objects made by the `world` fixture in that test.
"""
from __future__ import annotations

from dataclasses import dataclass

ANYONE = "anyone"
SIGNED_IN = "signed_in"
TOKEN = "token"
ROLES = ("employee", "manager", "training_admin", "grant_owner", "auditor", "admin")


@dataclass(frozen=True)
class Route:
    """One endpoint, how to call it, and who gets in."""

    endpoint: str
    method: str
    url: str
    allowed: object


ROUTES = [
    Route("static", "GET", "/static/css/portal.css", ANYONE),
    Route("home.healthz", "GET", "/healthz", ANYONE),
    Route("auth.login", "GET", "/login", ANYONE),
    Route("auth.language", "POST", "/language", ANYONE),
    Route("home.index", "GET", "/", SIGNED_IN),
    Route("auth.logout", "POST", "/logout", SIGNED_IN),
    Route("auth.password", "GET", "/account/password", SIGNED_IN),
    Route("org.departments", "GET", "/org/departments", {"admin", "training_admin", "auditor"}),
    Route("audit.events", "GET", "/audit/", {"auditor", "admin"}),
]
