"""Telling the next person about a look-up, through the access feature's mail queue: rendered inside
the transaction, delivered only after it commits, dropped on rollback (portal/access/notify.py)."""
from __future__ import annotations

from typing import Iterable

from flask import current_app
from sqlalchemy import select

from portal.access import notify as access_notify
from portal.access.queries import approver_ids_for
from portal.core.mail import OutgoingMail, render_mail
from portal.extensions import db
from portal.org.models import Person


def _link(lookup) -> str:
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + f"/lookups/{lookup.id}"


def _queue(people: Iterable[Person], template: str, **context) -> None:
    """One message per person, in their language, on the same after-commit queue as access mail."""
    access_notify.install()
    queue: list[OutgoingMail] = db.session.info.setdefault(access_notify._QUEUE_KEY, [])
    for person in people:
        if person.email and person.active:
            locale = "en" if person.locale == "en" else "ja"
            queue.append(render_mail(f"lookups/mail/{template}.{locale}.txt", to=person.email, person=person,
                                     **context))


def approval_needed(lookup) -> None:
    """The requester's managers have a look-up to approve or refuse."""
    ids = list(approver_ids_for(lookup.requester))
    people = db.session.scalars(select(Person).where(Person.id.in_(ids))).all() if ids else []
    _queue(people, "approval_needed", lookup=lookup, link=_link(lookup))


def handler_needed(lookup) -> None:
    """Grant holders are not all mailed (a department's worth of people): the approved request shows
    in their queue (/lookups/queue). The requester is told it was approved."""
    requester_told(lookup)


def requester_told(lookup) -> None:
    """The requester learns that their look-up was approved, refused or answered."""
    _queue([lookup.requester], "request_update", lookup=lookup, link=_link(lookup))
