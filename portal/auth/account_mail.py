"""Sign-in link mails: queued in the outbox inside the transaction that creates the link.

A rolled-back invitation or reset queues nothing; a committed one is sent by the queue's consumers
(retried while the mail server is down, listed for admins when it keeps failing).
"""
from __future__ import annotations

from portal.auth.models import AccountToken
from portal.core.mail import OutgoingMail, render_person_mail
from portal.org.models import Person
from portal.outbox.services import queue_mail


def queue_link_mail(person: Person, row: AccountToken, link: str, **context) -> None:
    """Queue the invitation or reset mail for the person, in their language (Japanese by default)."""
    mail: OutgoingMail = render_person_mail(f"auth/mail/{row.purpose}", person, link=link, **context)
    queue_mail(mail, key=f"account-link:{row.id}")
