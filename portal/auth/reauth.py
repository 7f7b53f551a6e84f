"""Re-entering one's password on a signed-in page (the password change): throttled per person.

A stolen session must not become a way to guess the password: wrong current passwords (audited
by the service as auth.password_check_failed) count against a per-person limit, as the
attestation's do; then the page answers 429 for a while, whatever is typed. Other mistakes on
the form (a weak new password) do not count.
"""
from __future__ import annotations

from flask import g
from flask_login import current_user

#: Wrong current passwords one person may type before waiting (HTTP 429).
PASSWORD_CHECK_LIMIT = "10 per 10 minutes"


def password_check_key() -> str:
    """Count per signed-in person, whatever their address or session."""
    return f"password-check:{current_user.id}"


def mark_wrong_password() -> None:
    """Note that this request's current password was wrong (the limiter counts it)."""
    g.wrong_current_password = True


def wrong_password_entered(_response) -> bool:
    """Only a request marked by mark_wrong_password counts against the limit."""
    return bool(g.get("wrong_current_password"))
