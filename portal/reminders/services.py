"""Reminders: claim what is owed (reminder_log rows), mark it done; the manager's remind button.

Crash safety. A reminder is first inserted as a row (unique per person, kind, JST day and
manual; per ISO week for digests), claimed by one run and committed; its message then goes
into the mail outbox in the same transaction that sets sent_at (the outbox sends it, retries it
and shows admins what failed: portal/outbox). So:
- a crash before that transaction leaves claimed rows that a later run of the same day queues;
- a crash never leaves a row marked done whose message is not in the outbox, nor the reverse;
- two runs at once cannot both queue a row: each claims rows with its own token, and a claim
  is only taken over when it is older than CLAIM_TIMEOUT (its run died); the outbox key comes
  from the rows, so the same rows never make two messages.
Everything here flushes and never commits: the CLI, the schedule and the views commit at the edge.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, insert, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import Date, Integer, String

from portal.audit.services import record_event
from portal.core.mail import mail_locale
from portal.core.refusals import Refusal
from portal.extensions import UTCDateTime, db
from portal.manuals.models import Manual, TrainingAssignment
from portal.org.models import Person, PersonRole, department_managers
from portal.reminders.messages import PersonMessage, ReminderItem, learner_message
from portal.reminders.models import ReminderLog
from portal.reminders.queries import pairs_select
from portal.reminders.rules import BEHIND_STATUSES, DIGEST, DUE_SOON, OPEN_STATUSES, OVERDUE_KIND, week_start

#: A claim older than this belongs to a run that died; another run may take the rows over.
CLAIM_TIMEOUT = timedelta(minutes=15)


class AlreadyRemindedToday(Refusal):
    """The person was already sent an overdue reminder today (by the schedule or a manager)."""

    CODE = "already_reminded_today"


class NothingToRemind(Refusal):
    """The person has no overdue or expired training in the viewer's departments."""

    CODE = "nothing_to_remind"


class NoAddress(Refusal):
    """The person has no e-mail address to remind them at."""

    CODE = "no_address"


def new_claim() -> str:
    """A token naming one sending run."""
    return uuid.uuid4().hex


def _insert_ignoring_duplicates():
    """INSERT … ON CONFLICT DO NOTHING for this database (the unique indexes decide)."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(ReminderLog)


def claim_learner_reminders(today: date, now: datetime, claim: str, days_before: int) -> int:
    """Record today's due-soon and overdue reminders (one INSERT … SELECT), then claim every unsent one."""
    pairs = pairs_select(today)
    if pairs is not None:
        pairs = pairs.where(Person.email != "").subquery("pairs")
        kind = case((pairs.c.status.in_(BEHIND_STATUSES), OVERDUE_KIND), else_=DUE_SOON)
        wanted = select(pairs.c.person_id, kind, literal(today, Date()), pairs.c.manual_id,
                        literal("scheduled", String()), literal(now, UTCDateTime())).where(or_(
                            pairs.c.status.in_(BEHIND_STATUSES),
                            and_(pairs.c.status.in_(OPEN_STATUSES), pairs.c.due_date >= today,
                                 pairs.c.due_date <= today + timedelta(days=days_before))))
        db.session.execute(_insert_ignoring_duplicates().from_select(
            ["person_id", "kind", "day", "manual_id", "origin", "created_at"], wanted).on_conflict_do_nothing())
    return _claim(claim, now, ReminderLog.day == today, ReminderLog.kind.in_((DUE_SOON, OVERDUE_KIND)))


def claim_digests(today: date, now: datetime, claim: str) -> int:
    """Record this ISO week's digest for every manager with someone overdue, then claim the unsent ones."""
    pairs = pairs_select(today, Person.department_id)
    if pairs is not None:
        behind = pairs.subquery("pairs")
        managers = (select(department_managers.c.person_id).distinct()
                    .join(behind, behind.c.department_id == department_managers.c.department_id)
                    .join(Person, Person.id == department_managers.c.person_id)
                    .join(PersonRole, and_(PersonRole.person_id == Person.id, PersonRole.role == "manager"))
                    .where(behind.c.status.in_(BEHIND_STATUSES), Person.active.is_(True), Person.email != "")
                    .subquery("managers"))
        wanted = select(managers.c.person_id, literal(DIGEST, String()), literal(week_start(today), Date()),
                        literal(None, Integer()), literal("scheduled", String()), literal(now, UTCDateTime())
                        ).where(true())  # SQLite reads "… FROM x ON CONFLICT" as a join without a WHERE
        db.session.execute(_insert_ignoring_duplicates().from_select(
            ["person_id", "kind", "day", "manual_id", "origin", "created_at"], wanted).on_conflict_do_nothing())
    return _claim(claim, now, ReminderLog.day == week_start(today), ReminderLog.kind == DIGEST)


def _claim(claim: str, now: datetime, *where) -> int:
    stale = now - CLAIM_TIMEOUT
    result = db.session.execute(
        update(ReminderLog).where(*where, ReminderLog.sent_at.is_(None),
                                  or_(ReminderLog.claim.is_(None), ReminderLog.claimed_at < stale))
        .values(claim=claim, claimed_at=now).execution_options(synchronize_session=False))
    return result.rowcount or 0


def message_key(log_ids: list[int]) -> str:
    """The outbox key of the message that covers these reminder rows (the same rows, the same message)."""
    digest = hashlib.sha256(",".join(str(i) for i in sorted(log_ids)).encode()).hexdigest()[:32]
    return f"reminder:{digest}"


def mark_sent(log_ids: list[int], now: datetime) -> None:
    """The message is in the outbox (sent by a consumer, retried until the server accepts it): these rows are done."""
    db.session.execute(update(ReminderLog).where(ReminderLog.id.in_(log_ids)).values(sent_at=now)
                       .execution_options(synchronize_session=False))


def release_claim(claim: str) -> None:
    """Give unsent rows back (the run could not send them), so the next run retries today."""
    db.session.execute(update(ReminderLog).where(ReminderLog.claim == claim, ReminderLog.sent_at.is_(None))
                       .values(claim=None, claimed_at=None).execution_options(synchronize_session=False))


def record_run(summary: dict) -> None:
    """One audit event per `portal reminders send` run, with what was sent and what failed."""
    record_event(None, "reminders.sent", object_type="reminder_run", object_id=summary.get("day", ""),
                 details=summary)


# --- the dashboard's remind button ------------------------------------------------------------


def remind_person(actor: Person, person: Person, department_ids, today: date, now: datetime,
                  claim: str) -> PersonMessage:
    """A manager reminds one person of their overdue training (at most once a day per person)."""
    already = db.session.scalar(select(ReminderLog.id).where(
        ReminderLog.person_id == person.id, ReminderLog.kind == OVERDUE_KIND, ReminderLog.day == today).limit(1))
    if already is not None:
        raise AlreadyRemindedToday()
    pairs = pairs_select(today, department_ids=department_ids)
    behind = [] if pairs is None else db.session.execute(
        pairs.where(TrainingAssignment.person_id == person.id)).all()
    behind = [row for row in behind if row.status in BEHIND_STATUSES]
    if not behind:
        raise NothingToRemind()
    if not person.email:
        raise NoAddress()
    manuals = {m.id: m for m in db.session.scalars(select(Manual).where(
        Manual.id.in_([row.manual_id for row in behind])))}
    result = db.session.execute(insert(ReminderLog).returning(ReminderLog.id), [
        {"person_id": person.id, "kind": OVERDUE_KIND, "day": today, "manual_id": row.manual_id,
         "origin": "manager", "requested_by_id": actor.id, "created_at": now, "claim": claim, "claimed_at": now}
        for row in behind])
    log_ids = list(result.scalars())
    record_event(actor, "reminder.sent", object_type="person", object_id=person.id,
                 details={"employee_no": person.employee_no, "kind": OVERDUE_KIND, "day": today.isoformat(),
                          "manuals": sorted(manuals[row.manual_id].slug for row in behind)})
    locale = mail_locale(person.locale)
    items = [ReminderItem(manuals[row.manual_id].title(locale), manuals[row.manual_id].slug, row.due_date, row.status)
             for row in sorted(behind, key=lambda r: manuals[r.manual_id].slug)]
    return PersonMessage(learner_message(person, items, [], today), log_ids)
