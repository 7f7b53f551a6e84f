"""The reminder e-mails: one per learner (overdue and due soon) and the managers' weekly digest.

Messages are built from the reminder_log rows a run claimed, in each recipient's language
(templates in portal/templates/reminders/, .ja.txt and .en.txt).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import and_, select

from portal.core.i18n import in_language
from portal.core.mail import OutgoingMail, mail_locale, render_mail
from portal.core.sql import id_filter
from portal.extensions import db
from portal.manuals.models import Manual, TrainingAssignment
from portal.org.models import Department, Person, department_managers
from portal.reminders.models import ReminderLog
from portal.reminders.queries import pairs_select
from portal.reminders.rules import BEHIND_STATUSES, DIGEST, OVERDUE_KIND, week_start
from portal.training.status import EXPIRED, OVERDUE

#: A digest lists at most this many lines; the rest are counted.
DIGEST_MAX_LINES = 200


@dataclass
class ReminderItem:
    """One manual in a reminder."""

    title: str
    slug: str
    due_date: date | None
    #: The training status behind it (overdue items may be "expired": their attestation lapsed).
    status: str = ""


@dataclass
class PersonMessage:
    """One message and the reminder_log rows it settles once sent."""

    mail: OutgoingMail
    log_ids: list[int] = field(default_factory=list)


def _link(path: str) -> str:
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + path


def learner_message(person: Person, overdue: list[ReminderItem], due_soon: list[ReminderItem],
                    today: date) -> OutgoingMail:
    """The reminder to one learner: what is overdue and what is due soon, in their language."""
    return render_mail(f"reminders/learner.{mail_locale(person.locale)}.txt", to=person.email, person=person,
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
        title = in_language(mail_locale(person.locale), title_ja, title_en)
        if kind == OVERDUE_KIND:  # overdue means the due date passed; otherwise the attestation expired
            status = OVERDUE if due_date is not None and due_date < today else EXPIRED
            entry[1].append(ReminderItem(title, slug, due_date, status))
        else:
            entry[2].append(ReminderItem(title, slug, due_date))
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
    pairs = pairs_select(today, Person.department_id, Person.name, Person.name_kana, Person.employee_no,
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
        locale = mail_locale(manager.locale)
        lines = [DigestLine(f"{in_language(locale, name_ja, name_en)}（{code}）", name, number,
                            in_language(locale, title_ja, title_en), due, status)
                 for department_id in sorted(managed[manager.id])
                 for code, name_ja, name_en, name, _kana, number, title_ja, title_en, due, status
                 in lines_by_department.get(department_id, ())]
        mail = render_mail(f"reminders/digest.{locale}.txt", to=manager.email, person=manager,
                           lines=lines[:DIGEST_MAX_LINES], more=max(len(lines) - DIGEST_MAX_LINES, 0),
                           people=len({line.employee_no for line in lines}), week=week_start(today),
                           link=_link("/dashboards/"))
        messages.append(PersonMessage(mail, [log_id]))
    return messages
