"""Set-based reads for reminders: who is behind or due, and who was reminded today."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import and_, select

from portal.extensions import db
from portal.manuals.models import TrainingAssignment
from portal.org.models import Person
from portal.reminders.models import ReminderLog
from portal.reminders.rules import OVERDUE_KIND
from portal.training.models import TrainingProgress
from portal.training.queries import manual_facts
from portal.training.sql_rule import id_filter, manual_rule_values, status_case


def pairs_select(today: date, *columns, department_ids: Collection[int] | None = None):
    """Assigned pairs of active people, with the status decided in SQL (None when there is no manual)."""
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


def reminded_today(person_ids, today: date) -> dict[int, datetime]:
    """{person_id: first overdue reminder time today} for people already reminded (one query)."""
    if not person_ids:
        return {}
    rows = db.session.execute(select(ReminderLog.person_id, ReminderLog.created_at).where(
        id_filter(ReminderLog.person_id, person_ids), ReminderLog.kind == OVERDUE_KIND, ReminderLog.day == today)
        .order_by(ReminderLog.created_at.desc()))
    return {person_id: created_at for person_id, created_at in rows}
