"""Re-entering one's password on a signed-in page (the password change): throttled per person, audited.

A stolen session must not become a way to guess the password offline-free: wrong current
passwords count against a per-person limit (the attestation's is the same), and each one is an
audit event, like a failed sign-in.
"""
from __future__ import annotations

from flask_login import current_user

from portal.audit.services import record_event

#: Wrong current passwords one person may type before waiting (HTTP 429).
PASSWORD_CHECK_LIMIT = "10 per 10 minutes"


def password_check_key() -> str:
    """Count per signed-in person, whatever their address or session."""
    return f"password-check:{current_user.id}"


def wrong_password_entered(response) -> bool:
    """Only a wrong current password (401) counts against the limit."""
    return response.status_code == 401


def record_wrong_password(person, purpose: str) -> None:
    """Audit a wrong current password typed by a signed-in person; flushes, the view commits."""
    record_event(person, "auth.password_check_failed", object_type="person", object_id=person.employee_no,
                 details={"purpose": purpose})
