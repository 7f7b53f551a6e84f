"""Telling the next person in an approval workflow: mail rendered inside the transaction and put in
the outbox by the same commit (portal/outbox); the queue consumers send it. A rolled-back change
sends nothing.

Messages wait in session.info until the commit; access requests and look-ups queue theirs here.
"""
from __future__ import annotations

from typing import Iterable

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.core.mail import OutgoingMail, render_person_mail
from portal.extensions import db
from portal.org.models import Person
from portal.outbox.services import new_key, queue_mail

_QUEUE_KEY = "approval_notices"


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


def portal_link(path: str) -> str:
    """The portal's address of a page, for a message."""
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + path


def queue_mail_on_commit(mail: OutgoingMail) -> None:
    """One rendered message, sent when the transaction commits."""
    install()
    db.session.info.setdefault(_QUEUE_KEY, []).append(mail)


def queue_notices(people: Iterable[Person], template: str, **context) -> None:
    """One message per active person with an address, from `<template>.<their language>.txt`, on commit."""
    for person in people:
        if person.email and person.active:
            queue_mail_on_commit(render_person_mail(template, person, **context))
