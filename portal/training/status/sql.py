"""The status rule evaluated inside the database, for summaries over millions of pairs.

status_case is rule.training_status written as one SQL CASE over the facts;
settled_status_case is rule.settled_status over a stored row's own columns
(stored.py keeps the rows). Tests check that both give the same answers as the pure rule, on SQLite
and PostgreSQL, for every branch and boundary and over random histories. Validity is
compared as "attested at or after the first instant still valid today"
(rule.earliest_valid_attestation_day), so no per-row date arithmetic is needed.

Counts and department reads use the materialised rows: settled rows are counted once in
training_status_counts, and only rows stale today (a fact changed, or their status moved
with time since they were settled) are looked at again, pending ones with the live rule. These reads
sit here, below stored.py, because stored.check compares them with the live rule.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timezone
from functools import lru_cache

from sqlalchemy import Integer, and_, case, func, literal, or_, select, union_all

from portal.core.sql import id_filter
from portal.extensions import UTCDateTime, db
from portal.manuals.models import TrainingAssignment
from portal.org.models import Person
from portal.training.models import TrainingProgress, TrainingStatusCount, TrainingStatusRow
from portal.training.status.facts import manual_facts, settled_on
from portal.training.status.rule import (
    ATTESTED_EARLIER,
    ATTESTED_REQUIRED,
    CURRENT,
    DUE,
    EXPIRED,
    IN_PROGRESS,
    NOT_STARTED,
    OVERDUE,
    STARTED,
    earliest_valid_attestation_day,
    jst_day_start_utc,
)

#: Stands for "no validity period": every attestation is at or after it.
_BEGINNING = datetime(1900, 1, 1, tzinfo=timezone.utc)
#: Counted statuses, in the column order of training_status_counts.
COUNTED = (CURRENT, DUE, IN_PROGRESS, NOT_STARTED, OVERDUE, EXPIRED)


def valid_from(today: date, validity_months: int | None) -> datetime:
    """The earliest attestation instant that still counts today."""
    day = earliest_valid_attestation_day(today, validity_months)
    return _BEGINNING if day is None else jst_day_start_utc(day)


def manual_rule_values(facts_by_manual, today: date):
    """A table (manual_id, required_number, valid_from) to join the pairs against.

    A UNION ALL of one-row SELECTs of bound values rather than VALUES: its shape depends only
    on the number of manuals, so the statement is compiled once and then found in the cache.
    """
    return _manual_rule(tuple(sorted(facts_by_manual.values(), key=lambda f: f.manual_id)), today)


@lru_cache(maxsize=16)
def _manual_rule(facts: tuple, today: date):
    """manual_rule_values, built once per set of manual facts and day (constructs are immutable)."""
    rows = [select(literal(f.manual_id, Integer()).label("manual_id"),
                   literal(f.required_number or 0, Integer()).label("required_number"),
                   literal(valid_from(today, f.validity_months), UTCDateTime()).label("valid_from"))
            for f in facts]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).cte("manual_rule")


def status_case(rule, today: date, facts=None):
    """rule.training_status for an assigned pair, as a SQL CASE (same order of branches).

    `facts` (optional) supplies the pair's columns by the names used below; by default they
    are the joined training_assignments and training_progress columns and the rule's.
    """
    facts = facts if facts is not None else {"required_number": rule.c.required_number, "valid_from": rule.c.valid_from,
                      "attested_edition_number": TrainingProgress.attested_edition_number,
                      "attested_at": TrainingProgress.attested_at, "due_date": TrainingAssignment.due_date,
                      "started_edition_number": TrainingProgress.started_edition_number}
    attested, required = facts["attested_edition_number"], facts["required_number"]
    in_validity = facts["attested_at"] >= facts["valid_from"]
    return case(
        (and_(attested >= required, in_validity), CURRENT),
        (attested >= required, EXPIRED),
        (facts["due_date"] < today, OVERDUE),
        (and_(attested.is_not(None), in_validity), DUE),
        (attested.is_not(None), EXPIRED),
        (facts["started_edition_number"] >= required, IN_PROGRESS),
        else_=NOT_STARTED,
    )


def pending_pairs(facts_by_manual, today: date, where):
    """Pending rows matching `where`, decided live from the facts: person_id, manual_id,
    department_id, status, due_date, attested_edition_number, attested_at (assigned pairs of
    active people only).

    Outer joins from the pending rows (never reordered, whatever the planners' statistics say),
    materialised once, so the few pending rows drive the query on both databases.
    """
    r, a, pr = TrainingStatusRow, TrainingAssignment, TrainingProgress
    live = (select(r.person_id, r.manual_id, Person.department_id, Person.active, a.due_date,
                   pr.attested_edition_number, pr.attested_at, pr.started_edition_number)
            .select_from(r)
            .outerjoin(a, and_(a.person_id == r.person_id, a.manual_id == r.manual_id))
            .outerjoin(Person, Person.id == r.person_id)
            .outerjoin(pr, and_(pr.person_id == r.person_id, pr.manual_id == r.manual_id))
            .where(r.pending.is_(True), where)
            .cte("live").prefix_with("MATERIALIZED"))  # looked up once per pending row, then decided
    manuals = sorted(facts_by_manual.values(), key=lambda f: f.manual_id)
    # The manuals' rule values as CASEs on manual_id: a few comparisons, where a join would scan them per row.
    required = case({f.manual_id: literal(f.required_number or 0, Integer()) for f in manuals},
                    value=live.c.manual_id, else_=literal(0, Integer()))
    valid_since = case({f.manual_id: literal(valid_from(today, f.validity_months), UTCDateTime()) for f in manuals},
                       value=live.c.manual_id, else_=literal(_BEGINNING, UTCDateTime()))
    facts = {"required_number": required, "valid_from": valid_since, "due_date": live.c.due_date,
             "attested_edition_number": live.c.attested_edition_number, "attested_at": live.c.attested_at,
             "started_edition_number": live.c.started_edition_number}
    return (select(live.c.person_id, live.c.manual_id, live.c.department_id,
                   status_case(None, today, facts).label("status"), live.c.due_date,
                   live.c.attested_edition_number, live.c.attested_at)
            .where(live.c.due_date.is_not(None), live.c.active.is_(True)))


def settled_status_case(today: date):
    """rule.settled_status over a training_status_rows row's own columns, as a SQL CASE."""
    r = TrainingStatusRow
    within_validity = or_(r.valid_until.is_(None), r.valid_until >= today)
    return case(
        (and_(r.standing == ATTESTED_REQUIRED, within_validity), CURRENT),
        (r.standing == ATTESTED_REQUIRED, EXPIRED),
        (r.due_date < today, OVERDUE),
        (and_(r.standing == ATTESTED_EARLIER, within_validity), DUE),
        (r.standing == ATTESTED_EARLIER, EXPIRED),
        (r.standing == STARTED, IN_PROGRESS),
        else_=NOT_STARTED,
    )


def _wide(status):
    """One count column per counted status, from a status expression."""
    return [func.sum(case((status == name, 1), else_=0)) for name in COUNTED]


def status_counts(today: date, *, department_ids: Collection[int] | None = None,
                  manual_ids: Collection[int] | None = None,
                  by_department: bool = False) -> dict[tuple[int | None, int, str], int]:
    """{(department_id or None, manual_id, status): people} over active people (two or three queries)."""
    return {(department_id, manual_id, status): count
            for (department_id, manual_id), sums in wide_status_counts(
                today, department_ids=department_ids, manual_ids=manual_ids, by_department=by_department).items()
            for status, count in zip(COUNTED, sums) if count}


def wide_status_counts(today: date, *, department_ids: Collection[int] | None = None,
                       manual_ids: Collection[int] | None = None,
                       by_department: bool = False) -> dict[tuple[int | None, int], list[int]]:
    """{(department_id or None, manual_id): people per COUNTED status}: status_counts a row per cell (heat maps).

    The settled counts, minus what was counted for rows stale today, plus those rows' status
    today (their own columns, or the live rule for pending ones): one statement, one snapshot.
    """
    on = settled_on()
    if on is None or today < on:
        totals: dict[tuple[int | None, int], list[int]] = {}
        for (department_id, manual_id, status), count in live_status_counts(
                today, department_ids=department_ids, manual_ids=manual_ids, by_department=by_department).items():
            totals.setdefault((department_id, manual_id), [0] * len(COUNTED))[COUNTED.index(status)] += count
        return totals
    c, r = TrainingStatusCount, TrainingStatusRow

    def narrowed(stmt, department, manual):
        if department_ids is not None:
            stmt = stmt.where(id_filter(department, department_ids))
        if manual_ids is not None:
            stmt = stmt.where(id_filter(manual, manual_ids))
        return stmt

    stale = r.stale_from <= today
    parts = [
        narrowed(select(literal(1), c.department_id, c.manual_id, *(c.__table__.c[s] for s in COUNTED)),
                 c.department_id, c.manual_id),
        narrowed(select(literal(-1), r.department_id, r.manual_id, *_wide(r.counted_status))
                 .where(stale, r.counted_status.is_not(None)), r.department_id, r.manual_id)
        .group_by(r.department_id, r.manual_id),
        narrowed(select(literal(1), r.department_id, r.manual_id, *_wide(settled_status_case(today)))
                 .where(stale, r.pending.is_(False)), r.department_id, r.manual_id)
        .group_by(r.department_id, r.manual_id),
    ]
    facts = manual_facts(manual_ids)
    if facts:  # decided once per pending row (materialised), then counted
        live = pending_pairs(facts, today, stale).cte("decided").prefix_with("MATERIALIZED")
        parts.append(narrowed(select(literal(1), live.c.department_id, live.c.manual_id, *_wide(live.c.status)),
                              live.c.department_id, live.c.manual_id)
                     .group_by(live.c.department_id, live.c.manual_id))
    totals = {}
    for sign, department_id, manual_id, *counts in db.session.connection().execute(union_all(*parts)):
        key = (department_id if by_department else None, manual_id)
        moves = [sign * int(count or 0) for count in counts]
        sums = totals.get(key)
        totals[key] = moves if sums is None else [a + b for a, b in zip(sums, moves)]
    return {key: sums for key, sums in totals.items() if any(sums)}


def department_pairs_select(today: date, department_ids: Collection[int], facts=None, *, details: bool = False):
    """Assigned pairs of the departments' active people: person_id, manual_id, status, due_date
    (and attested_edition_number, attested_at with details), from the materialised rows; one
    statement, pending rows decided by the live rule."""
    r = TrainingStatusRow
    facts = manual_facts() if facts is None else facts
    people = select(Person.id).where(id_filter(Person.department_id, department_ids), Person.active.is_(True))
    settled = (select(r.person_id, r.manual_id, settled_status_case(today).label("status"), r.due_date,
                      *((r.attested_edition_number, r.attested_at) if details else ()))
               .where(r.person_id.in_(people), r.pending.is_(False)))
    if not facts:
        return settled
    pending = pending_pairs(facts, today, r.person_id.in_(people)).subquery("pending")
    live = select(pending.c.person_id, pending.c.manual_id, pending.c.status, pending.c.due_date,
                  *((pending.c.attested_edition_number, pending.c.attested_at) if details else ()))
    return union_all(settled, live)


def assigned_pairs_select(rule, columns, department_ids: Collection[int] | None = None):
    """SELECT `columns` over the assigned pairs of active people, joined to the manuals' rule values
    (`rule`) and the people's progress, so `status_case(rule, today)` can be among the columns."""
    stmt = (
        select(*columns)
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


def live_status_counts(today: date, *, department_ids: Collection[int] | None = None,
                       manual_ids: Collection[int] | None = None,
                       by_department: bool = False) -> dict[tuple[int | None, int, str], int]:
    """status_counts decided from the facts alone (two queries; seconds on 2.5 million pairs)."""
    facts = manual_facts(manual_ids)
    if not facts:
        return {}
    rule = manual_rule_values(facts, today)
    keys = [Person.department_id] if by_department else []
    pairs = assigned_pairs_select(
        rule, [*keys, TrainingAssignment.manual_id, status_case(rule, today).label("status")], department_ids,
    ).subquery("pairs")
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
