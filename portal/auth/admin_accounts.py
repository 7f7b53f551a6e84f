"""Accounts made from the command line: the very first admin, and break-glass passwords."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.audit.services import record_event
from portal.auth.account_links import supersede_open_links
from portal.auth.password_rules import holder_of, password_problems
from portal.auth.passwords import hash_password
from portal.auth.services import PasswordPolicyError
from portal.auth.two_factor import remove_second_factor
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Department, Person, PersonRole


class AccountRefused(Refusal):
    """A command that must not run; its code (also str()) the CLI puts into words."""


@dataclass(frozen=True)
class NewPerson:
    """Who to create when the first admin is not in the HR data yet."""

    name: str
    department_code: str
    department_name: str = ""
    email: str = ""


def admins_who_can_sign_in() -> list[str]:
    """Employee numbers of active admins with a local password."""
    return list(db.session.scalars(
        select(Person.employee_no).join(PersonRole, PersonRole.person_id == Person.id)
        .where(PersonRole.role == "admin", Person.active.is_(True), Person.password_hash != "")
        .order_by(Person.employee_no)))


def _new_person(employee_no: str, new: NewPerson) -> tuple[Person, bool]:
    department = db.session.scalar(select(Department).where(Department.code == new.department_code))
    created_department = department is None
    if created_department:
        department = Department(code=new.department_code, name_ja=new.department_name or new.department_code,
                                name_en="", kind="internal")
        db.session.add(department)
    person = Person(employee_no=employee_no, name=new.name, name_kana="", email=new.email, department=department)
    db.session.add(person)
    db.session.flush()
    return person, created_department


def _set_password(person: Person, password: str) -> None:
    problems = password_problems(password, holder_of(person))
    if problems:
        raise PasswordPolicyError("password_rules", "password", problems=problems)
    person.password_hash = hash_password(password)
    person.session_version += 1
    supersede_open_links(person.id, utcnow())  # a password set here retires any open link


def create_first_admin(employee_no: str, password: str, new: NewPerson | None = None, force: bool = False) -> Person:
    """Give a person (from HR, or created here) the admin role and a password; one audit event.

    Raises AccountRefused: admin_exists (unless force), unknown_person (no NewPerson given),
    inactive; PasswordPolicyError when the password breaks the rules.
    """
    existing = admins_who_can_sign_in()
    if existing and not force:
        raise AccountRefused("admin_exists")
    person = db.session.scalar(select(Person).where(Person.employee_no == employee_no))
    created = created_department = False
    if person is None:
        if new is None:
            raise AccountRefused("unknown_person")
        person, created_department = _new_person(employee_no, new)
        created = True
    if not person.active:
        raise AccountRefused("inactive")
    _set_password(person, password)
    granted = not person.has_role("admin")
    if granted:
        person.role_rows.append(PersonRole(role="admin"))
    db.session.flush()
    record_event(None, "account.admin_created", object_type="person", object_id=person.employee_no,
                 details={"created_person": created, "created_department": created_department,
                          "role_granted": granted, "forced": bool(existing), "other_admins": existing})
    return person


def set_password_from_cli(employee_no: str, password: str, reset_two_factor: bool = False) -> Person:
    """Break-glass: set an active person's password (and optionally remove their second factor); audited.

    Raises AccountRefused: unknown_person, inactive; PasswordPolicyError.
    """
    person = db.session.scalar(select(Person).where(Person.employee_no == employee_no))
    if person is None:
        raise AccountRefused("unknown_person")
    if not person.active:
        raise AccountRefused("inactive")
    _set_password(person, password)
    removed = remove_second_factor(person) if reset_two_factor else False
    record_event(None, "account.password_set", object_type="person", object_id=person.employee_no,
                 details={"via": "cli", "second_factor_reset": reset_two_factor, "was_enrolled": removed})
    return person
