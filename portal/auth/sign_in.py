"""Finishing a local sign-in: the pending second step, and starting the signed-in session.

Between a correct password and a correct second factor the browser is NOT signed in: its session
holds only a short-lived note of who is half-way (and, during enrolment, the new TOTP secret, so
it never reaches the database before it is confirmed). The note dies with the person's session
version (deactivation, reset by an admin) and after PENDING_SECONDS.
"""
from __future__ import annotations

from flask import redirect, session, url_for
from flask_login import login_user

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Person

PENDING_KEY = "sign_in_pending"
PENDING_SECONDS = 10 * 60
#: How the signed-in session passed the second-factor rule: not_needed, totp or recovery_code.
#: Sessions from other sign-in methods (SSO) carry no such note.
SECOND_FACTOR_KEY = "second_factor"


def _fresh_session() -> None:
    """Nothing from before survives, except the chosen language."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def begin_second_factor(person: Person, next_url: str):
    """Remember who passed the password, and send them to the second step (or to enrolment)."""
    _fresh_session()
    session[PENDING_KEY] = {"person": person.id, "version": person.session_version,
                            "until": utcnow().timestamp() + PENDING_SECONDS, "next": next_url}
    return redirect(url_for("auth.second_factor"))


def pending_person() -> Person | None:
    """The person half-way through signing in, while the note is fresh and they are still active."""
    note = session.get(PENDING_KEY)
    if not isinstance(note, dict) or note.get("until", 0) < utcnow().timestamp():
        return None
    person = db.session.get(Person, note.get("person"))
    if person is None or not person.active or person.session_version != note.get("version"):
        return None
    return person


def pending_value(name: str, default=None):
    """A value kept in the pending note (next, secret)."""
    note = session.get(PENDING_KEY)
    return note.get(name, default) if isinstance(note, dict) else default


def keep_pending_value(name: str, value) -> None:
    """Add a value to the pending note (the enrolment secret)."""
    note = dict(session.get(PENDING_KEY) or {})
    note[name] = value
    session[PENDING_KEY] = note


def open_session(person: Person, second_factor: str) -> None:
    """Sign the person in on a fresh session, as /login does after a correct password."""
    _fresh_session()
    login_user(person)
    now = utcnow().timestamp()
    session["login_at"] = now
    session["seen_at"] = now
    session[SECOND_FACTOR_KEY] = second_factor
    session.permanent = True


def remember_device(response, person: Person) -> None:
    """Mark this browser as one the person signed in from (the per-account throttle spares it)."""
    from portal.auth.views import _remember_device  # views imports this module

    _remember_device(response, person.employee_no)


def start_session(person: Person, next_url: str, second_factor: str):
    """Sign the person in and go on to next_url."""
    open_session(person, second_factor)
    response = redirect(next_url)
    remember_device(response, person)
    return response
