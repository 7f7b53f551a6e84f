"""How a request becomes a signed-in person: session cookie, or the SSO proxy's header."""
from __future__ import annotations

from flask import Flask, current_app, request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from portal.extensions import db, login_manager
from portal.org.models import Person

#: Every request loads the signed-in person; most need only the columns (id, session version,
#: locale). Roles, managed departments and the department are read on first use instead of
#: eagerly: their eager loads were two extra SELECTs and about a third of a quiz submission's CPU.
_PERSON_ONLY = (lazyload(Person.role_rows), lazyload(Person.managed_departments), lazyload(Person.department))
#: Built once (building it per request cost about as much as running it).
_PERSON_BY_ID = select(Person).options(*_PERSON_ONLY).where(Person.id == bindparam("person_id"))


@login_manager.user_loader
def load_from_session(identity: str) -> Person | None:
    """Accept the cookie only while its session version is the person's current one."""
    person_id, _, version = identity.partition(":")
    if not (person_id.isdigit() and version.isdigit()):
        return None
    person = db.session.scalar(_PERSON_BY_ID, {"person_id": int(person_id)})
    if person is None or not person.active or person.session_version != int(version):
        return None
    sso_employee_no = _sso_employee_no()
    if sso_employee_no and sso_employee_no != person.employee_no:
        return None  # in SSO mode the proxy's word wins over an older cookie of someone else
    return person


def _sso_employee_no() -> str:
    """The employee number the SSO proxy's header names, or "" (also when SSO mode is off)."""
    header = current_app.config.get("PORTAL_SSO_HEADER")
    return (request.headers.get(header) or "").strip() if header else ""


@login_manager.request_loader
def load_from_sso_header(_request) -> Person | None:
    """In SSO mode only: the trusted reverse proxy names the employee in a header."""
    employee_no = _sso_employee_no()
    if not employee_no:
        return None
    person = db.session.scalar(select(Person).where(Person.employee_no == employee_no).options(*_PERSON_ONLY))
    return person if person is not None and person.active else None


def init_login(app: Flask) -> None:
    """Bind Flask-Login; unauthenticated access is handled by core.access."""
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
