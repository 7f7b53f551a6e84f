"""Telling the next person: mail rendered inside the transaction and put in the outbox by the same
commit (portal/outbox); the queue consumers send it. A rolled-back change sends nothing.

Messages wait in session.info[_QUEUE_KEY] until the commit: look-up notices (and any other
feature) may append OutgoingMail there too.
"""
from __future__ import annotations

from typing import Iterable

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.access.models import AccessGrant
from portal.access.queries import approver_ids_for
from portal.core.mail import OutgoingMail, render_mail
from portal.extensions import db
from portal.manuals.models import Manual
from portal.org.models import Person
from portal.outbox.services import new_key, queue_mail

_QUEUE_KEY = "access_outgoing_mail"


def install() -> None:
    """Put waiting mail in the outbox as part of each commit, and drop it on rollback (idempotent)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def _before_commit(session: Session) -> None:
    for mail in session.info.pop(_QUEUE_KEY, None) or ():
        queue_mail(mail, mail.key or new_key("notice"), session=session)


def _after_rollback(session: Session) -> None:
    session.info.pop(_QUEUE_KEY, None)


def _link(path: str) -> str:
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + path


def _queue(people: Iterable[Person], template: str, **context) -> None:
    """Render one message per person (in their language) and queue it on the session."""
    install()
    queue: list[OutgoingMail] = db.session.info.setdefault(_QUEUE_KEY, [])
    for person in people:
        if person.email and person.active:
            locale = "en" if person.locale == "en" else "ja"
            queue.append(render_mail(f"access/mail/{template}.{locale}.txt", to=person.email,
                                     person=person, **context))


def _people(ids) -> list[Person]:
    ids = list(ids)
    return list(db.session.scalars(select(Person).where(Person.id.in_(ids)))) if ids else []


def request_waiting_approval(request) -> None:
    """The requester's managers have a request to approve or refuse."""
    _queue(_people(approver_ids_for(request.person)), "approval_needed", request=request,
           link=_link(f"/access/requests/{request.id}"))


def request_waiting_grant(request) -> None:
    """The system's grant owners (but not the requester or approver) have a request to decide."""
    owners = [o for o in request.system.grant_owners if o.id not in (request.person_id, request.approver_id)]
    _queue(owners, "grant_needed", request=request, link=_link(f"/access/requests/{request.id}"))


def request_decided(request) -> None:
    """The requester learns what was decided."""
    _queue([request.person], "request_decided", request=request, link=_link(f"/access/requests/{request.id}"))


def request_awaiting_training(request, lacking: list[str]) -> None:
    """The requester learns that the request waits for their training, and which manuals to finish."""
    slugs = [code.split(":", 1)[1] for code in lacking if code.startswith("training_not_current:")]
    manuals = list(db.session.scalars(select(Manual).where(Manual.slug.in_(slugs)).order_by(Manual.slug)))
    _queue([request.person], "request_awaiting_training", request=request, manuals=manuals,
           link=_link(f"/access/requests/{request.id}"), training_link=_link("/training/"))


def grant_revoked(grant) -> None:
    """The person learns their grant was revoked."""
    _queue([grant.person], "grant_revoked", grant=grant, link=_link("/access/"))


def reviews_waiting(reviewer_ids, campaign, count: int, reminder: bool) -> None:
    """Managers have grants to keep or revoke before the campaign's deadline."""
    _queue(_people(reviewer_ids), "review_needed", campaign=campaign, count=count, reminder=reminder,
           link=_link("/access/inbox"))


def grant_state_changed(grant_id: int, kind: str, reasons: list[str]) -> None:
    """The holder learns that their grant was suspended (and why) or is back in force."""
    grant = db.session.get(AccessGrant, grant_id)
    _queue([grant.person], f"grant_{kind}", grant=grant, reasons=reasons, link=_link(f"/access/grants/{grant_id}"))
