"""Sign-in link mails: rendered inside the transaction, delivered only after it commits.

A rolled-back invitation or reset sends nothing. When the mail server refuses after the commit,
the link exists but never arrived: the count of such messages is left in `g` so the view can say
so (the admin sends the invitation again; the person asks for a new reset link).
"""
from __future__ import annotations

from flask import current_app, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.core.mail import OutgoingMail, deliver, render_mail
from portal.extensions import db
from portal.org.models import Person

_QUEUE_KEY = "account_outgoing_mail"


def install() -> None:
    """Deliver queued mail after each commit and drop it on rollback (idempotent)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    mails = session.info.pop(_QUEUE_KEY, None)
    if not mails:
        return
    try:
        deliver(mails)
    except OSError:  # the committed link stands; the person can be sent a new one
        current_app.logger.exception("sign-in link mails could not be sent")
        if has_request_context():
            g.account_mail_failed = len(mails)


def _after_rollback(session: Session) -> None:
    session.info.pop(_QUEUE_KEY, None)


def mail_failed() -> int:
    """How many sign-in link mails of this request the mail server did not take (0 normally)."""
    return g.get("account_mail_failed", 0) if has_request_context() else 0


def queue_link_mail(person: Person, purpose: str, link: str, **context) -> None:
    """Queue the invitation or reset mail for the person, in their language (Japanese by default)."""
    install()
    locale = "en" if person.locale == "en" else "ja"
    mail: OutgoingMail = render_mail(f"auth/mail/{purpose}.{locale}.txt", to=person.email, person=person,
                                     link=link, **context)
    db.session.info.setdefault(_QUEUE_KEY, []).append(mail)
