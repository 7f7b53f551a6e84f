"""Set-based reads for reminders: who is behind or due, and who was reminded today."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import select

from portal.core.sql import id_filter
from portal.extensions import db
from portal.manuals.models import TrainingAssignment
from portal.reminders.models import ReminderLog
from portal.reminders.rules import OVERDUE_KIND
from portal.training.status import assigned_pairs_select, manual_facts, manual_rule_values, status_case


def pairs_select(today: date, *columns, department_ids: Collection[int] | None = None):
    """Assigned pairs of active people, with the status decided in SQL (None when there is no manual)."""
    facts = manual_facts()
    if not facts:
        return None
    rule = manual_rule_values(facts, today)
    return assigned_pairs_select(
        rule, [TrainingAssignment.person_id, TrainingAssignment.manual_id, TrainingAssignment.due_date,
               status_case(rule, today).label("status"), *columns], department_ids,
    )


def reminded_today(person_ids, today: date) -> dict[int, datetime]:
    """{person_id: first overdue reminder time today} for people already reminded (one query)."""
    if not person_ids:
        return {}
    rows = db.session.execute(select(ReminderLog.person_id, ReminderLog.created_at).where(
        id_filter(ReminderLog.person_id, person_ids), ReminderLog.kind == OVERDUE_KIND, ReminderLog.day == today)
        .order_by(ReminderLog.created_at.desc()))
    return {person_id: created_at for person_id, created_at in rows}
