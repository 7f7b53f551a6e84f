"""Sign-in link mails: queued in the outbox inside the transaction that creates the link.

A rolled-back invitation or reset queues nothing; a committed one is sent by the queue's consumers
(retried while the mail server is down, listed for admins when it keeps failing).
"""
from __future__ import annotations

from portal.auth.models import AccountToken
from portal.core.mail import OutgoingMail, render_mail
from portal.org.models import Person
from portal.outbox.services import queue_mail


def queue_link_mail(person: Person, row: AccountToken, link: str, **context) -> None:
    """Queue the invitation or reset mail for the person, in their language (Japanese by default)."""
    locale = "en" if person.locale == "en" else "ja"
    mail: OutgoingMail = render_mail(f"auth/mail/{row.purpose}.{locale}.txt", to=person.email, person=person,
                                     link=link, **context)
    queue_mail(mail, key=f"account-link:{row.id}")
