"""The audit events of company sign-in: who got in through the provider, and who was refused and why."""
from __future__ import annotations

from portal.audit.services import record_event
from portal.auth.sign_in import OIDC
from portal.org.models import Person


def record_sso_sign_in(person: Person, *, subject: str, auth_time: int | None) -> None:
    """auth.sso_login for a person signed in through the company's provider; flushes, never commits."""
    record_event(person, "auth.sso_login", object_type="person", object_id=person.employee_no,
                 details={"method": OIDC, "subject": subject, "auth_time": auth_time})


def record_sso_refusal(person: Person | None, reason: str, purpose: str, *, employee_no: str = "",
                       **details) -> None:
    """auth.sso_refused with the reason (and what the provider said); flushes, never commits."""
    record_event(person, "auth.sso_refused", object_type="person", object_id=(employee_no or "")[:80],
                 details={"reason": reason, "purpose": purpose, **details})
