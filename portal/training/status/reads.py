"""The reads: statuses per person × manual, decided in Python by the pure rule from the facts.

A fixed few queries whatever the headcount (two: the manuals' facts, then every wanted pair with its
progress). Counts and department-wide reads go through the stored copies instead (sql.status_counts,
sql.department_pairs_select); the engine's tests prove both agree with the rule.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import and_, select

from portal.core.sql import id_filter
from portal.extensions import db
from portal.manuals.models import TrainingAssignment
from portal.org.models import Person
from portal.training.models import TrainingProgress
from portal.training.status.facts import ManualFacts, manual_facts
from portal.training.status.rule import ACCEPTABLE_FOR_ACCESS, TrainingFacts, jst_date, training_status, validity_end


class StatusRow(NamedTuple):
    """One person × manual with its status and the dates that change it."""

    person_id: int
    manual_id: int
    status: str
    due_date: date | None
    #: Last day the newest attestation counts (None: never attested or no validity period).
    valid_until: date | None
    attested_edition_number: int | None
    attested_at: datetime | None
    current_edition_number: int | None


def _pair_select(person_filter, manual_ids: Collection[int] | None):
    """Assignments with the person's progress: one row per person × manual.

    person_filter(column) restricts a person_id column; it is applied to both tables so that
    PostgreSQL reads only the wanted people's rows of each (index scans, not a hash of everyone).
    """
    on = and_(TrainingProgress.person_id == TrainingAssignment.person_id,
              TrainingProgress.manual_id == TrainingAssignment.manual_id)
    if person_filter is not None:
        on = and_(on, person_filter(TrainingProgress.person_id))
    stmt = (
        select(TrainingAssignment.person_id, TrainingAssignment.manual_id, TrainingAssignment.due_date,
               TrainingProgress.attested_edition_number, TrainingProgress.attested_at,
               TrainingProgress.started_edition_number)
        .outerjoin(TrainingProgress, on)
    )
    if person_filter is not None:
        stmt = stmt.where(person_filter(TrainingAssignment.person_id))
    if manual_ids is not None:
        stmt = stmt.where(id_filter(TrainingAssignment.manual_id, manual_ids))
    return stmt


def _rows(person_filter, manual_ids: Collection[int] | None, today: date) -> list[StatusRow]:
    facts_by_manual = manual_facts(manual_ids)
    no_manual = ManualFacts(0, 0, 0, None, None)
    rows = []
    append = rows.append
    # Core execution: thousands of plain tuples, no ORM bookkeeping.
    for person_id, manual_id, due_date, attested_number, attested_at, started_number in db.session.connection().execute(
        _pair_select(person_filter, manual_ids)
    ).all():
        manual = facts_by_manual.get(manual_id, no_manual)
        months = manual.validity_months
        valid_until = validity_end(jst_date(attested_at), months) if months and attested_at is not None else None
        status = training_status(TrainingFacts(True, due_date, manual.required_number, attested_number, valid_until,
                                               started_number), today)
        append(StatusRow(person_id, manual_id, status, due_date, valid_until, attested_number, attested_at,
                         manual.latest_number or None))
    return rows


def status_rows(person_ids: Collection[int] | None, manual_ids: Collection[int] | None, today: date) -> list[StatusRow]:
    """Status, due date and validity end of every assigned pair (None = all); two queries."""
    if person_ids is None:
        return _rows(None, manual_ids, today)
    ids = list(person_ids)
    return _rows(lambda column: id_filter(column, ids), manual_ids, today)


def statuses_for(person_ids: Collection[int] | None, manual_ids: Collection[int] | None,
                 today: date) -> dict[tuple[int, int], str]:
    """{(person_id, manual_id): status} for assigned pairs; a pair absent here is not_required."""
    return {(row.person_id, row.manual_id): row.status for row in status_rows(person_ids, manual_ids, today)}


def current_or_due_pairs(person_ids: Collection[int] | None, manual_ids: Collection[int] | None,
                         today: date) -> set[tuple[int, int]]:
    """Pairs whose training is acceptable for access today (current, or due before its due date)."""
    return {(row.person_id, row.manual_id) for row in status_rows(person_ids, manual_ids, today)
            if row.status in ACCEPTABLE_FOR_ACCESS}


def department_status_rows(department_ids: Collection[int], manual_ids: Collection[int] | None,
                           today: date) -> list[StatusRow]:
    """Status rows of the active people of some departments (for managers' dashboards)."""
    ids = db.session.scalars(select(Person.id).where(
        id_filter(Person.department_id, department_ids), Person.active.is_(True))).all()
    return status_rows(ids, manual_ids, today)
