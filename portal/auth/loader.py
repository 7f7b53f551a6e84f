"""How a request becomes a signed-in person: session cookie, or the SSO proxy's header."""
from __future__ import annotations

from flask import Flask, current_app, request
from sqlalchemy import select

from portal.extensions import db, login_manager
from portal.org.models import Person


@login_manager.user_loader
def load_from_session(identity: str) -> Person | None:
    """Accept the cookie only while its session version is the person's current one."""
    person_id, _, version = identity.partition(":")
    if not (person_id.isdigit() and version.isdigit()):
        return None
    person = db.session.get(Person, int(person_id))
    if person is None or not person.active or person.session_version != int(version):
        return None
    return person


@login_manager.request_loader
def load_from_sso_header(_request) -> Person | None:
    """In SSO mode only: the trusted reverse proxy names the employee in a header."""
    header = current_app.config.get("PORTAL_SSO_HEADER")
    if not header:
        return None
    employee_no = (request.headers.get(header) or "").strip()
    if not employee_no:
        return None
    person = db.session.scalar(select(Person).where(Person.employee_no == employee_no))
    return person if person is not None and person.active else None


def init_login(app: Flask) -> None:
    """Bind Flask-Login; unauthenticated access is handled by core.access."""
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
