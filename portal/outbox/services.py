"""Queueing mail: a row in mail_outbox, in the caller's transaction, sent by a consumer after it commits.

A rolled-back change queues nothing; a committed one wakes the consumers (a `outbox.drain` task,
enqueued after the commit: no mail server is contacted in a request or a commit hook). The key is
unique: queueing the same message twice keeps one row.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.core import signals
from portal.core.mail import OutgoingMail
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.outbox.models import OutboxMail

_WAKE = "outbox_wake"


def install() -> None:
    """Wake the consumers after a commit that queued mail (idempotent)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    if session.info.pop(_WAKE, False):
        signals.mail_queued.send("outbox")


def _after_rollback(session: Session) -> None:
    session.info.pop(_WAKE, None)


def new_key(prefix: str) -> str:
    """A key for a message that has no natural one (each call is a new message)."""
    return f"{prefix}:{uuid.uuid4().hex}"


def queue_mail(mail: OutgoingMail, key: str | None = None, session: Session | None = None) -> bool:
    """Queue one message in the current transaction; False when it has no address or its key is queued already."""
    session = session or db.session
    if not mail.to:
        return False
    key = key or mail.key or new_key("mail")
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    # RETURNING says whether a row went in (psycopg reports no rowcount for this INSERT).
    inserted = session.execute(module.insert(OutboxMail).values(
        key=key[:200], to_address=mail.to, subject=mail.subject, body=mail.body, state="queued", attempts=0,
        next_attempt_at=now, created_at=now, last_error="").on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxMail.id)).scalar()
    install()
    session.info[_WAKE] = True
    return inserted is not None


def queue_mails(mails: Iterable[OutgoingMail], prefix: str = "mail") -> int:
    """Queue each message with an address under a new key; returns how many were queued."""
    return sum(queue_mail(mail, mail.key or new_key(prefix)) for mail in mails)
