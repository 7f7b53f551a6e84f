"""Draining the outbox in the consumers: claim a few messages, send them, mark each sent at once.

Never two copies. A message is claimed with a conditional UPDATE (queued and due, or claimed by a
consumer silent for CLAIM_TIMEOUT), so two consumers never send the same row; it is marked sent
only after the mail server accepted it, committed at once. A consumer killed between the
server's acceptance and that commit leaves the row claimed: after CLAIM_TIMEOUT it is sent again,
with the same Message-ID (derived from its key), the one case in which a server may see it twice.

A refusal or a server that is down sets the message back with a growing delay (1, 2, 4 … minutes,
at most RETRY_CAP); after MAX_ATTEMPTS it is failed, listed for admins, who may queue it again.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from portal.core.mail import OutgoingMail, open_transport
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.outbox.models import OutboxMail

log = logging.getLogger(__name__)

#: A claim this old belongs to a consumer that died.
CLAIM_TIMEOUT = timedelta(minutes=15)
#: Messages claimed at once: few enough to send well within CLAIM_TIMEOUT.
BATCH = 50
MAX_ATTEMPTS = 8
RETRY_CAP = timedelta(hours=2)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 1, 2, 4 … minutes, at most RETRY_CAP."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), RETRY_CAP)


def _claimable(now: datetime):
    return or_(and_(OutboxMail.state == "queued", OutboxMail.next_attempt_at <= now),
               and_(OutboxMail.state == "sending", OutboxMail.claimed_at < now - CLAIM_TIMEOUT))


def mail_waiting(now: datetime) -> int:
    """Messages a consumer could send now."""
    return db.session.scalar(select(func.count()).select_from(OutboxMail).where(_claimable(now))) or 0


def claim_batch(lease: str, now: datetime, limit: int = BATCH) -> list:
    """Claim up to `limit` due messages under this lease (oldest first), as plain rows; commits."""
    ids = db.session.scalars(select(OutboxMail.id).where(_claimable(now)).order_by(OutboxMail.id).limit(limit)).all()
    if not ids:
        db.session.rollback()
        return []
    db.session.execute(update(OutboxMail).where(OutboxMail.id.in_(ids), _claimable(now))
                       .values(state="sending", lease=lease, claimed_at=now, attempts=OutboxMail.attempts + 1)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return db.session.execute(select(OutboxMail.id, OutboxMail.key, OutboxMail.to_address, OutboxMail.subject,
                                     OutboxMail.body, OutboxMail.attempts)
                              .where(OutboxMail.lease == lease).order_by(OutboxMail.id)).all()


def _mark_sent(mail_id: int, lease: str) -> None:
    db.session.execute(update(OutboxMail).where(OutboxMail.id == mail_id, OutboxMail.lease == lease)
                       .values(state="sent", lease=None, sent_at=utcnow(), last_error="")
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _mark_failed_attempt(mail, lease: str, error: Exception) -> None:
    now = utcnow()
    final = mail.attempts >= MAX_ATTEMPTS
    db.session.execute(update(OutboxMail).where(OutboxMail.id == mail.id, OutboxMail.lease == lease)
                       .values(state="failed" if final else "queued", lease=None, last_error=str(error)[:2000],
                               next_attempt_at=now + retry_delay(mail.attempts))
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _give_back(lease: str) -> None:
    """Messages claimed but not tried (the server went away): back to the queue, the attempt not counted."""
    db.session.execute(update(OutboxMail).where(OutboxMail.lease == lease, OutboxMail.state == "sending")
                       .values(state="queued", lease=None, attempts=OutboxMail.attempts - 1)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def send_batch(lease: str, mails: list) -> tuple[int, int]:
    """Send claimed messages over one connection; at the first failure the rest wait for a retry."""
    sent = failed = 0
    transport = None
    try:
        for mail in mails:
            try:
                transport = transport or open_transport()
                transport.send(OutgoingMail(to=mail.to_address, subject=mail.subject, body=mail.body, key=mail.key))
            except (OSError, ValueError) as error:  # smtplib errors are OSErrors
                log.warning("mail %s to %s not sent (attempt %s): %s", mail.id, mail.to_address, mail.attempts, error)
                _mark_failed_attempt(mail, lease, error)
                failed += 1
                break
            _mark_sent(mail.id, lease)
            sent += 1
    finally:
        if transport is not None:
            transport.close()
        _give_back(lease)
    return sent, failed


def drain_outbox(max_batches: int = 200, now: datetime | None = None) -> dict:
    """The `outbox.drain` task: send what is due (at `now`), batch by batch, until none is left or the server fails."""
    totals = {"sent": 0, "failed": 0}
    for _ in range(max_batches):
        lease = uuid.uuid4().hex
        mails = claim_batch(lease, now or utcnow())
        if not mails:
            break
        sent, failed = send_batch(lease, mails)
        totals["sent"] += sent
        totals["failed"] += failed
        if failed:
            break  # the server refuses or is down: the retry delay applies, not another batch now
    return totals


def retry_mail(mail_id: int) -> bool:
    """An admin queues a failed message again (attempts start over); flushes."""
    return db.session.execute(update(OutboxMail).where(OutboxMail.id == mail_id, OutboxMail.state == "failed")
                              .values(state="queued", attempts=0, next_attempt_at=utcnow())
                              .execution_options(synchronize_session=False)).rowcount == 1
