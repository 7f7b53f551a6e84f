"""Set-based status reads: the same answers as the pure rule, in a fixed few queries."""
from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta

from sqlalchemy import insert, select

from portal.core.timeutil import JST
from portal.extensions import db
from portal.manuals.models import TrainingAssignment
from portal.org.models import Department, Person
from portal.training.models import TrainingProgress
from portal.training.status import (
    TrainingFacts,
    current_or_due_pairs,
    department_status_rows,
    earliest_valid_attestation_day,
    jst_today,
    pair_statuses_sql,
    status_counts,
    status_rows,
    statuses_for,
    training_status,
)
from tests.training_fixtures import add_edition, make_manual, quiz_spec

TODAY = jst_today()


def _people(count: int, department: Department) -> list[int]:
    db.session.execute(insert(Person), [
        {"employee_no": f"G{department.id}-{n:04d}", "name": f"社員{n}", "name_kana": "", "email": "", "department_id":
         department.id, "active": True, "password_hash": "", "session_version": 1, "locale": ""}
        for n in range(count)])
    return list(db.session.scalars(select(Person.id).where(Person.department_id == department.id).order_by(Person.id)))


def _moment(day, at_end: bool) -> datetime:
    return datetime.combine(day, time(23, 59, 59) if at_end else time(0, 0), tzinfo=JST)


def _grid(manual, editions_required: int, validity: int | None):
    """Every combination of progress facts around the boundaries; returns [(facts kwargs, progress row)]."""
    earliest = earliest_valid_attestation_day(TODAY, validity) or TODAY - timedelta(days=3000)
    attested_moments = [_moment(TODAY - timedelta(days=3), False), _moment(earliest, False),
                        _moment(earliest - timedelta(days=1), True)]
    cases = []
    for attested, moment, started, due in itertools.product(
            (None, 1, editions_required), attested_moments, (None, 1, editions_required),
            (TODAY, TODAY - timedelta(days=1))):
        if attested is None and moment != attested_moments[0]:
            continue
        cases.append((attested, None if attested is None else moment, started, due))
    return cases


def test_sql_and_python_decide_every_case_alike(make_department):
    department = make_department("GRID")
    two_material = make_manual("two-material", validity_months=12)
    add_edition(two_material, 2, spec=quiz_spec(), validity_months=12)
    with_minor = make_manual("with-minor")
    add_edition(with_minor, 2, change_kind="minor", spec=quiz_spec())
    plans = [(two_material, _grid(two_material, 2, 12), 12, 2), (with_minor, _grid(with_minor, 1, None), None, 1)]
    people = _people(max(len(cases) for _m, cases, _v, _r in plans), department)
    expected = {}
    for manual, cases, validity, required in plans:
        for person_id, (attested, moment, started, due) in zip(people, cases):
            db.session.add(TrainingAssignment(person_id=person_id, manual_id=manual.id,
                                              since_edition_id=manual.editions[-1].id, due_date=due))
            if attested is not None or started is not None:
                db.session.add(TrainingProgress(person_id=person_id, manual_id=manual.id,
                                                attested_edition_number=attested, attested_at=moment,
                                                started_edition_number=started))
            valid_until = None
            if moment is not None and validity:
                from portal.training.status import jst_date, validity_end
                valid_until = validity_end(jst_date(moment), validity)
            expected[(person_id, manual.id)] = training_status(
                TrainingFacts(True, due, required, attested, valid_until, started), TODAY)
    db.session.commit()
    assert set(expected.values()) == {"not_started", "in_progress", "current", "due", "overdue", "expired"}
    assert statuses_for(people, None, TODAY) == expected
    assert pair_statuses_sql(TODAY) == expected
    counts = status_counts(TODAY)
    for (_dept, manual_id, status), number in counts.items():
        assert number == sum(1 for (p, m), s in expected.items() if m == manual_id and s == status)
    assert current_or_due_pairs(people, None, TODAY) == {k for k, s in expected.items() if s in ("current", "due")}


def test_a_department_page_needs_the_same_few_queries_for_3_or_300_people(make_department, count_queries):
    def _count_queries(function) -> int:
        with count_queries() as statements:
            function()
        return len(statements)

    manuals = [make_manual(f"m{n}") for n in range(3)]
    small, large = make_department("SMALL"), make_department("LARGE")
    for department, count in ((small, 3), (large, 300)):
        ids = _people(count, department)
        db.session.execute(insert(TrainingAssignment), [
            {"person_id": p, "manual_id": m.id, "since_edition_id": m.editions[-1].id, "due_date": TODAY}
            for p in ids for m in manuals])
    db.session.commit()
    small_id, large_id = small.id, large.id
    few = _count_queries(lambda: department_status_rows([small_id], None, TODAY))
    many = _count_queries(lambda: department_status_rows([large_id], None, TODAY))
    assert few == many <= 3
    assert len(department_status_rows([large_id], None, TODAY)) == 900
    ids = db.session.scalars(select(Person.id).where(Person.department_id == large_id)).all() * 2
    assert _count_queries(lambda: status_rows(ids, None, TODAY)) == 2  # long id lists go in as one parameter
    # the settle day, the manuals' rules, then one statement over the materialised counts and stale rows
    assert _count_queries(lambda: status_counts(TODAY, by_department=True)) == 3


def test_inactive_people_are_left_out_of_department_lists(make_department, make_person):
    department = make_department("D9")
    manual = make_manual()
    person = make_person("E9", department=department, active=False)
    db.session.add(TrainingAssignment(person_id=person.id, manual_id=manual.id,
                                      since_edition_id=manual.editions[-1].id, due_date=TODAY))
    db.session.commit()
    assert department_status_rows([department.id], None, TODAY) == []
    assert status_counts(TODAY) == {}
