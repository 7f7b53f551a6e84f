"""Reminders: claim what is owed (reminder_log rows), build the messages, mark them sent.

Crash safety. A reminder is first inserted as a row (unique per person, kind, JST day and
manual; per ISO week for digests), claimed by one run, committed, and only then sent;
sent_at is set after the mail server accepted the message and committed at once. So:
- a crash before sending leaves unsent rows that the next run of the same day sends;
- a crash between the server's acceptance and the commit of sent_at can repeat that one
  message once (at least once, never "recorded as sent but not sent");
- two runs at once cannot both send a row: each claims rows with its own token, and a claim
  is only taken over when it is older than CLAIM_TIMEOUT (its run died).
Everything here flushes and never commits: the CLI and the views commit at the edge.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, insert, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import Date, Integer, String

from portal.audit.services import record_event
from portal.core.mail import OutgoingMail, render_mail
from portal.core.types import UTCDateTime
from portal.extensions import db
from portal.manuals.models import Manual, TrainingAssignment
from portal.org.models import Department, Person, PersonRole, department_managers
from portal.reminders.models import ReminderLog
from portal.reminders.rules import BEHIND_STATUSES, DIGEST, DUE_SOON, OPEN_STATUSES, OVERDUE_KIND, week_start
from portal.training.models import TrainingProgress
from portal.training.queries import manual_facts
from portal.training.sql_rule import id_filter, manual_rule_values, status_case

#: A claim older than this belongs to a run that died; another run may take the rows over.
CLAIM_TIMEOUT = timedelta(minutes=15)
#: A digest lists at most this many lines; the rest are counted.
DIGEST_MAX_LINES = 200


class AlreadyRemindedToday(Exception):
    """The person was already sent an overdue reminder today (by the schedule or a manager)."""


class NothingToRemind(Exception):
    """The person has no overdue or expired training in the viewer's departments."""


class NoAddress(Exception):
    """The person has no e-mail address to remind them at."""


def new_claim() -> str:
    """A token naming one sending run."""
    return uuid.uuid4().hex


def _insert_ignoring_duplicates():
    """INSERT … ON CONFLICT DO NOTHING for this database (the unique indexes decide)."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(ReminderLog)


def _pairs(today: date, *columns, department_ids=None):
    """Assigned pairs of active people with an address, with the status decided in SQL."""
    facts = manual_facts()
    if not facts:
        return None
    rule = manual_rule_values(facts, today)
    stmt = (
        select(TrainingAssignment.person_id, TrainingAssignment.manual_id, TrainingAssignment.due_date,
               status_case(rule, today).label("status"), *columns)
        .select_from(TrainingAssignment)
        .join(rule, rule.c.manual_id == TrainingAssignment.manual_id)
        .join(Person, Person.id == TrainingAssignment.person_id)
        .outerjoin(TrainingProgress, and_(TrainingProgress.person_id == TrainingAssignment.person_id,
                                          TrainingProgress.manual_id == TrainingAssignment.manual_id))
        .where(Person.active.is_(True))
    )
    if department_ids is not None:
        stmt = stmt.where(id_filter(Person.department_id, department_ids))
    return stmt


def claim_learner_reminders(today: date, now: datetime, claim: str, days_before: int) -> int:
    """Record today's due-soon and overdue reminders (one INSERT … SELECT), then claim every unsent one."""
    pairs = _pairs(today)
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
    pairs = _pairs(today, Person.department_id)
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


@dataclass
class ReminderItem:
    """One manual in a reminder."""

    title: str
    slug: str
    due_date: date | None


@dataclass
class PersonMessage:
    """One message and the reminder_log rows it settles once sent."""

    mail: OutgoingMail
    log_ids: list[int] = field(default_factory=list)


def _locale(person_locale: str) -> str:
    return "en" if person_locale == "en" else "ja"


def _link(path: str) -> str:
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + path


def learner_message(person: Person, overdue: list[ReminderItem], due_soon: list[ReminderItem],
                    today: date) -> OutgoingMail:
    """The reminder to one learner: what is overdue and what is due soon, in their language."""
    return render_mail(f"reminders/learner.{_locale(person.locale)}.txt", to=person.email, person=person,
                       overdue=overdue, due_soon=due_soon, today=today, link=_link("/"))


def claimed_learner_messages(claim: str, today: date) -> list[PersonMessage]:
    """One message per person for the rows this run claimed (one query)."""
    rows = db.session.execute(
        select(ReminderLog.id, ReminderLog.kind, Person, Manual.title_ja, Manual.title_en, Manual.slug,
               TrainingAssignment.due_date)
        .join(Person, Person.id == ReminderLog.person_id)
        .join(Manual, Manual.id == ReminderLog.manual_id)
        .outerjoin(TrainingAssignment, and_(TrainingAssignment.person_id == ReminderLog.person_id,
                                            TrainingAssignment.manual_id == ReminderLog.manual_id))
        .where(ReminderLog.claim == claim, ReminderLog.sent_at.is_(None), ReminderLog.kind != DIGEST)
        .order_by(Person.id, Manual.slug))
    grouped: dict[int, tuple[Person, list, list, list]] = {}
    for log_id, kind, person, title_ja, title_en, slug, due_date in rows:
        entry = grouped.setdefault(person.id, (person, [], [], []))
        title = title_en if _locale(person.locale) == "en" and title_en else title_ja
        (entry[1] if kind == OVERDUE_KIND else entry[2]).append(ReminderItem(title, slug, due_date))
        entry[3].append(log_id)
    return [PersonMessage(learner_message(person, overdue, due_soon, today), log_ids)
            for person, overdue, due_soon, log_ids in grouped.values()]


@dataclass
class DigestLine:
    """One overdue person × manual in a manager's digest."""

    department: str
    name: str
    employee_no: str
    manual: str
    due_date: date | None
    status: str


def claimed_digest_messages(claim: str, today: date) -> list[PersonMessage]:
    """One digest per manager whose digest row this run claimed (three queries)."""
    logs = db.session.execute(select(ReminderLog.id, Person).join(Person, Person.id == ReminderLog.person_id).where(
        ReminderLog.claim == claim, ReminderLog.sent_at.is_(None), ReminderLog.kind == DIGEST)).all()
    if not logs:
        return []
    managed: dict[int, set[int]] = defaultdict(set)
    for manager_id, department_id in db.session.execute(
            select(department_managers.c.person_id, department_managers.c.department_id)
            .where(id_filter(department_managers.c.person_id, [person.id for _log, person in logs]))):
        managed[manager_id].add(department_id)
    departments = {d for ids in managed.values() for d in ids}
    lines_by_department: dict[int, list[tuple]] = defaultdict(list)
    pairs = _pairs(today, Person.department_id, Person.name, Person.name_kana, Person.employee_no,
                   department_ids=departments) if departments else None
    if pairs is not None:
        behind = pairs.subquery("pairs")
        for row in db.session.execute(
                select(behind.c.department_id, Department.code, Department.name_ja, Department.name_en,
                       behind.c.name, behind.c.name_kana, behind.c.employee_no, Manual.title_ja, Manual.title_en,
                       behind.c.due_date, behind.c.status)
                .join(Department, Department.id == behind.c.department_id)
                .join(Manual, Manual.id == behind.c.manual_id)
                .where(behind.c.status.in_(BEHIND_STATUSES))
                .order_by(Department.code, behind.c.name_kana, behind.c.employee_no, Manual.slug)):
            lines_by_department[row[0]].append(row[1:])
    messages = []
    for log_id, manager in logs:
        locale = _locale(manager.locale)
        lines = [DigestLine(f"{name_en if locale == 'en' and name_en else name_ja}（{code}）", name, number,
                            title_en if locale == "en" and title_en else title_ja, due, status)
                 for department_id in sorted(managed[manager.id])
                 for code, name_ja, name_en, name, _kana, number, title_ja, title_en, due, status
                 in lines_by_department.get(department_id, ())]
        mail = render_mail(f"reminders/digest.{locale}.txt", to=manager.email, person=manager,
                           lines=lines[:DIGEST_MAX_LINES], more=max(len(lines) - DIGEST_MAX_LINES, 0),
                           people=len({line.employee_no for line in lines}), week=week_start(today),
                           link=_link("/dashboards/"))
        messages.append(PersonMessage(mail, [log_id]))
    return messages


def mark_sent(log_ids: list[int], now: datetime) -> None:
    """The mail server accepted the message: these rows are done."""
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
    pairs = _pairs(today, department_ids=department_ids)
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
    locale = _locale(person.locale)
    items = [ReminderItem(manuals[row.manual_id].title(locale), manuals[row.manual_id].slug, row.due_date)
             for row in sorted(behind, key=lambda r: manuals[r.manual_id].slug)]
    return PersonMessage(learner_message(person, items, [], today), log_ids)


def reminded_today(person_ids, today: date) -> dict[int, datetime]:
    """{person_id: first overdue reminder time today} for people already reminded (one query)."""
    if not person_ids:
        return {}
    rows = db.session.execute(select(ReminderLog.person_id, ReminderLog.created_at).where(
        id_filter(ReminderLog.person_id, person_ids), ReminderLog.kind == OVERDUE_KIND, ReminderLog.day == today)
        .order_by(ReminderLog.created_at.desc()))
    return {person_id: created_at for person_id, created_at in rows}
