"""Signing in and out, password changes: the state changes behind the auth views."""
from __future__ import annotations

from sqlalchemy import select

from portal.audit.services import record_event
from portal.auth.local_login import ALL, LocalLoginRefused, local_login_refusal
from portal.auth.password_rules import holder_of, password_problems
from portal.auth.passwords import check_password, hash_password
from portal.core.refusals import Refusal
from portal.extensions import db
from portal.org.models import Person


class PasswordPolicyError(Refusal):
    """The password change is refused: `field` names the form field, `problems` the rules broken."""

    @property
    def problems(self) -> list[str]:
        """The password rules broken (none when the current password was wrong)."""
        return self.details.get("problems") or []


def find_person(employee_no: str) -> Person | None:
    """The person with this employee number, or None."""
    return db.session.scalar(select(Person).where(Person.employee_no == employee_no.strip()))


def authenticate(employee_no: str, password: str, *, local_login: str = ALL) -> Person | None:
    """The active person whose password matches, else None (a failure is audited).

    Raises LocalLoginRefused (audited) when the PORTAL_LOCAL_LOGIN mode `local_login` does not let
    this person use a password: before the password is checked when the mode is off, after it
    otherwise (so only the password's owner learns that their account must use the company SSO).
    """
    closed = local_login_refusal(local_login, department_kind=None, roles=())
    if closed:
        _refuse_local_login(None, employee_no, closed)
    person = find_person(employee_no)
    ok = check_password(person.password_hash if person else "", password)
    if person is not None and ok and person.active:
        refusal = local_login_refusal(local_login, department_kind=person.department.kind, roles=person.roles)
        if refusal:
            _refuse_local_login(person, person.employee_no, refusal)
        record_event(person, "auth.login", object_type="person", object_id=person.employee_no)
        return person
    record_event(
        None,
        "auth.login_failed",
        object_type="person",
        object_id=employee_no.strip()[:80],
        details={"known": person is not None, "active": bool(person and person.active)},
    )
    return None


def _refuse_local_login(person: Person | None, employee_no: str, reason: str) -> None:
    record_event(person, "auth.login_refused", object_type="person", object_id=employee_no.strip()[:80],
                 details={"reason": reason})
    raise LocalLoginRefused(reason)


def end_all_sessions(person: Person, why: str) -> None:
    """Invalidate every existing session of the person (logout, password change, deactivation)."""
    person.session_version += 1
    record_event(person, why, object_type="person", object_id=person.employee_no)


def change_password(person: Person, current: str, new: str) -> None:
    """Replace the password after checking the current one; ends every other session.

    A wrong current password is audited (auth.password_check_failed) before the refusal is raised:
    the caller commits that event and nothing else.
    """
    if not check_password(person.password_hash, current):
        record_event(person, "auth.password_check_failed", object_type="person", object_id=person.employee_no,
                     details={"purpose": "password_change"})
        raise PasswordPolicyError("wrong_password", "current_password")
    problems = password_problems(new, holder_of(person))
    if problems:
        raise PasswordPolicyError("password_rules", "new_password", problems=problems)
    person.password_hash = hash_password(new)
    end_all_sessions(person, "auth.password_changed")
