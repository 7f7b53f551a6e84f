"""The status rule evaluated inside the database, for summaries over millions of pairs.

This is status.training_status written as one SQL CASE; tests/test_training_status_sql.py
checks that both give the same answer for every branch and boundary on SQLite and
PostgreSQL. Validity is compared as "attested at or after the first instant still valid
today" (status.earliest_valid_attestation_day), so no per-row date arithmetic is needed.
"""
from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date, datetime, timezone

from sqlalchemy import Integer, and_, any_, bindparam, case, column, func, select, values
from sqlalchemy.dialects.postgresql import ARRAY

from portal.core.types import UTCDateTime
from portal.extensions import db
from portal.manuals.models import TrainingAssignment
from portal.org.models import Person
from portal.training.models import TrainingProgress
from portal.training.status import (CURRENT, DUE, EXPIRED, IN_PROGRESS, NOT_STARTED, OVERDUE,
                                    earliest_valid_attestation_day, jst_day_start_utc)

#: Stands for "no validity period": every attestation is at or after it.
_BEGINNING = datetime(1900, 1, 1, tzinfo=timezone.utc)
#: Up to this many ids go into a plain IN list; more go in as one array (one parameter).
_IN_LIST_LIMIT = 500


def id_filter(column_, ids: Collection[int]):
    """column IN ids, as one bound array (PostgreSQL) or JSON list (SQLite) when ids are many."""
    ids = [int(i) for i in ids]
    if len(ids) <= _IN_LIST_LIMIT:
        return column_.in_(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        return column_ == any_(bindparam(None, ids, type_=ARRAY(Integer), unique=True))
    listed = func.json_each(json.dumps(ids)).table_valued("value")
    return column_.in_(select(listed.c.value))


def valid_from(today: date, validity_months: int | None) -> datetime:
    """The earliest attestation instant that still counts today."""
    day = earliest_valid_attestation_day(today, validity_months)
    return _BEGINNING if day is None else jst_day_start_utc(day)


def manual_rule_values(facts_by_manual, today: date):
    """A VALUES table (manual_id, required_number, valid_from) to join the pairs against."""
    rows = [(f.manual_id, f.required_number or 0, valid_from(today, f.validity_months))
            for f in facts_by_manual.values()]
    return values(column("manual_id", Integer), column("required_number", Integer),
                  column("valid_from", UTCDateTime()), name="manual_rule").data(rows).cte("manual_rule")


def status_case(rule, today: date):
    """status.training_status for an assigned pair, as a SQL CASE (same order of branches)."""
    attested = TrainingProgress.attested_edition_number
    in_validity = TrainingProgress.attested_at >= rule.c.valid_from
    return case(
        (and_(attested >= rule.c.required_number, in_validity), CURRENT),
        (attested >= rule.c.required_number, EXPIRED),
        (TrainingAssignment.due_date < today, OVERDUE),
        (and_(attested.is_not(None), in_validity), DUE),
        (attested.is_not(None), EXPIRED),
        (TrainingProgress.started_edition_number >= rule.c.required_number, IN_PROGRESS),
        else_=NOT_STARTED,
    )


def status_counts(today: date, *, department_ids: Collection[int] | None = None,
                  manual_ids: Collection[int] | None = None,
                  by_department: bool = False) -> dict[tuple[int | None, int, str], int]:
    """{(department_id or None, manual_id, status): people} over active people (two queries)."""
    from portal.training.queries import manual_facts

    facts = manual_facts(manual_ids)
    if not facts:
        return {}
    rule = manual_rule_values(facts, today)
    keys = [Person.department_id] if by_department else []
    pairs = (
        select(*keys, TrainingAssignment.manual_id, status_case(rule, today).label("status"))
        .select_from(TrainingAssignment)
        .join(rule, rule.c.manual_id == TrainingAssignment.manual_id)
        .join(Person, Person.id == TrainingAssignment.person_id)
        .outerjoin(TrainingProgress, and_(TrainingProgress.person_id == TrainingAssignment.person_id,
                                          TrainingProgress.manual_id == TrainingAssignment.manual_id))
        .where(Person.active.is_(True))
    )
    if department_ids is not None:
        pairs = pairs.where(id_filter(Person.department_id, department_ids))
    pairs = pairs.subquery("pairs")
    group = list(pairs.c)
    stmt = select(*group, func.count()).group_by(*group)
    result = {}
    for row in db.session.execute(stmt):
        if by_department:
            result[(row[0], row[1], row[2])] = row[3]
        else:
            result[(None, row[0], row[1])] = row[2]
    return result


def pair_statuses_sql(today: date, manual_ids: Collection[int] | None = None) -> dict[tuple[int, int], str]:
    """{(person_id, manual_id): status} decided by the database (checked against the Python rule)."""
    from portal.training.queries import manual_facts

    facts = manual_facts(manual_ids)
    if not facts:
        return {}
    rule = manual_rule_values(facts, today)
    stmt = (
        select(TrainingAssignment.person_id, TrainingAssignment.manual_id, status_case(rule, today))
        .join(rule, rule.c.manual_id == TrainingAssignment.manual_id)
        .outerjoin(TrainingProgress, and_(TrainingProgress.person_id == TrainingAssignment.person_id,
                                          TrainingProgress.manual_id == TrainingAssignment.manual_id))
    )
    return {(person_id, manual_id): status for person_id, manual_id, status in db.session.execute(stmt)}
