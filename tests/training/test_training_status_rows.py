"""Materialised training statuses: over random histories, every read equals the pure rule.

Each history is written straight to the fact tables (assignments, progress, editions, people),
the way any writer could, in random order with a clock that moves forward (and sometimes
looks back); settles happen at random moments. After every step the counts, the department
pairs and the drift check must agree with status.training_status decided from the facts. A
second history adds certificate revocations and re-attestations: the rule then sees only the
attestations that count (status.counting_attestation).
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select, text, update

from portal.core.timeutil import JST
from portal.extensions import db
from portal.manuals.models import ManualEdition, TrainingAssignment
from portal.org.models import Person
from portal.training.models import TrainingProgress, TrainingStatusRow
from portal.training.services import record_progress
from portal.training.status import (
    ATTESTED_EARLIER,
    ATTESTED_REQUIRED,
    NOTHING,
    STARTED,
    TrainingFacts,
    check,
    department_pairs_select,
    jst_today,
    next_status_change,
    settle,
    settled_status,
    standing_of,
    status_counts,
    status_rows,
    training_status,
)
from tests.training_fixtures import add_edition, make_manual

TODAY = jst_today()


def _expected(today):
    """{(person, manual): (department, status)} for active people, by the pure rule over the facts."""
    active = dict(db.session.execute(select(Person.id, Person.department_id).where(Person.active.is_(True))).all())
    return {(row.person_id, row.manual_id): (active[row.person_id], row.status)
            for row in status_rows(None, None, today) if row.person_id in active}


def _assert_reads_agree(today, department_ids):
    expected = _expected(today)
    want = Counter((department, manual) + (status,) for (_p, manual), (department, status) in expected.items())
    assert status_counts(today, by_department=True) == dict(want)
    by_manual = Counter((None, manual, status) for (_p, manual), (_d, status) in expected.items())
    assert status_counts(today) == dict(by_manual)
    for department_id in department_ids:
        got = {(person, manual): status for person, manual, status, _due in
               db.session.execute(department_pairs_select(today, [department_id]))}
        assert got == {pair: status for pair, (department, status) in expected.items() if department == department_id}


def _moment(day, rng):
    return datetime.combine(day, time(rng.randrange(24), rng.randrange(60)), tzinfo=JST)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_materialised_statuses_equal_the_pure_rule_over_random_histories(seed, make_department, make_person):
    rng = random.Random(seed)
    departments = [make_department(f"R{n}") for n in range(3)]
    people = [make_person(f"R{seed}-{n}", department=rng.choice(departments)) for n in range(9)]
    manuals = [make_manual("yearly", validity_months=12), make_manual("forever"),
               make_manual("monthly", validity_months=1)]
    db.session.commit()
    person_ids = [p.id for p in people]
    department_ids = [d.id for d in departments]
    numbers = {m.id: 1 for m in manuals}
    clock = TODAY
    for step in range(60):
        event = rng.choice(["assign", "assign", "unassign", "start", "attest", "attest", "raw", "publish", "move",
                            "active", "settle", "settle", "clock"])
        person_id, manual = rng.choice(person_ids), rng.choice(manuals)
        if event == "assign":
            due = clock + timedelta(days=rng.randint(-20, 40))
            row = db.session.get(TrainingAssignment, (person_id, manual.id))
            if row is None:
                db.session.add(TrainingAssignment(person_id=person_id, manual_id=manual.id,
                                                  since_edition_id=manual.editions[-1].id, due_date=due))
            else:
                row.due_date = due
        elif event == "unassign":
            db.session.execute(delete(TrainingAssignment).where(TrainingAssignment.person_id == person_id,
                                                                TrainingAssignment.manual_id == manual.id))
        elif event == "start":
            record_progress(person_id, manual.id, _moment(clock, rng), started=rng.randint(1, numbers[manual.id]))
        elif event == "attest":
            number = rng.randint(1, numbers[manual.id])
            edition = db.session.scalar(select(ManualEdition).where(ManualEdition.manual_id == manual.id,
                                                                    ManualEdition.number == number))
            attested_at = _moment(clock - timedelta(days=rng.choice([0, 1, 27, 31, 200, 364, 366, 400])), rng)
            record_progress(person_id, manual.id, attested_at, attestation=SimpleNamespace(
                edition_id=edition.id, edition_number=number, attested_at=attested_at))
        elif event == "raw":  # any writer, even one that lowers numbers
            db.session.execute(update(TrainingProgress).where(TrainingProgress.person_id == person_id).values(
                started_edition_number=rng.choice([None, 1, 2])))
        elif event == "publish":
            numbers[manual.id] += 1
            add_edition(manual, numbers[manual.id], change_kind=rng.choice(["material", "minor"]),
                        validity_months=rng.choice([None, 1, 12]), effective=clock)
        elif event == "move":
            db.session.execute(update(Person).where(Person.id == person_id).values(
                department_id=rng.choice(department_ids)))
        elif event == "active":
            db.session.execute(update(Person).where(Person.id == person_id).values(active=rng.random() < 0.6))
        elif event == "settle":
            settle(clock + timedelta(days=rng.choice([0, 0, 1, -3])))
        else:
            clock += timedelta(days=rng.choice([1, 2, 5, 13, 29, 40, 200]))
        db.session.flush()
        for day in (clock, clock + timedelta(days=rng.choice([1, 10, 33, 380]))):
            _assert_reads_agree(day, department_ids)
        if step % 15 == 14:
            db.session.commit()
    settle(clock)
    assert check(clock) == []


def test_a_settled_row_answers_like_the_pure_rule_on_every_day_until_it_changes():
    today = TODAY
    for attested, started, required in [(None, None, 2), (None, 2, 2), (None, 1, 2), (1, None, 2), (2, None, 2),
                                        (3, 1, 2)]:
        for due_offset in (-1, 0, 5, 40):
            for valid_offset in (None, -1, 0, 3, 60):
                due = today + timedelta(days=due_offset)
                valid_until = None if valid_offset is None or attested is None else today + timedelta(days=valid_offset)
                facts = TrainingFacts(True, due, required, attested, valid_until, started)
                standing = standing_of(facts)
                change = next_status_change(standing, due, valid_until, today)
                for day in (today + timedelta(days=n) for n in range(0, 70)):
                    assert settled_status(standing, due, valid_until, day) == training_status(facts, day)
                    if change is None or day < change:  # counted on `today`, valid until the next change
                        assert settled_status(standing, due, valid_until, day) == training_status(facts, today)
    assert {standing_of(TrainingFacts(True, today, 2, a, None, s)) for a, s in
            [(None, None), (None, 2), (1, None), (2, None)]} == {NOTHING, STARTED, ATTESTED_EARLIER, ATTESTED_REQUIRED}


def test_drift_is_found_and_a_rebuild_repairs_it(make_department, make_person, app):
    department = make_department("DR")
    people = [make_person(f"DR{n}", department=department) for n in range(3)]
    manual = make_manual("drift", validity_months=12)
    for person in people:
        db.session.add(TrainingAssignment(person_id=person.id, manual_id=manual.id,
                                          since_edition_id=manual.editions[-1].id, due_date=TODAY))
    db.session.flush()
    record_progress(people[0].id, manual.id, _moment(TODAY, random.Random(0)), started=1)
    settle(TODAY)
    db.session.commit()
    assert check(TODAY) == []
    assert db.session.scalar(select(TrainingStatusRow.counted_status).where(
        TrainingStatusRow.person_id == people[0].id)) == "in_progress"
    # Someone edits the materialised rows by hand (triggers guard the facts, not this table).
    db.session.execute(text("UPDATE training_status_rows SET standing = 3, counted_status = 'current' "
                            "WHERE person_id = :p"), {"p": people[0].id})
    db.session.commit()
    problems = check(TODAY)
    assert any(f"pair {people[0].id}×{manual.id}" in problem for problem in problems)
    assert any("counts of department" in problem for problem in problems)
    result = app.test_cli_runner().invoke(args=["training", "check-status"])
    assert result.exit_code == 1 and "drift:" in result.output
    result = app.test_cli_runner().invoke(args=["training", "rebuild-status"])
    assert result.exit_code == 0, result.output
    assert "rebuilt 3 status rows" in result.output
    assert check(TODAY) == []
    assert status_counts(TODAY) == {(None, manual.id, "in_progress"): 1, (None, manual.id, "not_started"): 2}


def test_a_change_to_the_facts_is_seen_at_once_without_a_settle(make_department, make_person):
    department = make_department("NOW")
    person = make_person("NOW1", department=department)
    manual = make_manual("at-once")
    db.session.add(TrainingAssignment(person_id=person.id, manual_id=manual.id,
                                      since_edition_id=manual.editions[-1].id, due_date=TODAY))
    db.session.flush()
    settle(TODAY)
    db.session.commit()
    assert status_counts(TODAY) == {(None, manual.id, "not_started"): 1}
    record_progress(person.id, manual.id, _moment(TODAY, random.Random(0)), started=1)  # same transaction
    assert db.session.get(TrainingStatusRow, (person.id, manual.id)).pending is True
    assert status_counts(TODAY) == {(None, manual.id, "in_progress"): 1}
    db.session.execute(update(Person).where(Person.id == person.id).values(active=False))
    assert status_counts(TODAY) == {}


def _attest_for_real(person_id, edition, attested_at, rng) -> None:
    """An attestation row (after a passed attempt) and its progress, as the training service writes them."""
    from portal.training.models import Attestation, QuizAttempt

    attempt = QuizAttempt(person_id=person_id, manual_id=edition.manual_id, edition_id=edition.id,
                          edition_number=edition.number, quiz_version_id=edition.quiz_version_id or
                          db.session.scalar(select(ManualEdition.quiz_version_id).where(
                              ManualEdition.manual_id == edition.manual_id, ManualEdition.number == 1)),
                          mode="full", drawn_json="[]", question_count=0, started_at=attested_at,
                          submitted_at=attested_at, score=0, passed=True, outcome="passed")
    db.session.add(attempt)
    db.session.flush()
    cycle = db.session.scalar(select(func.count(Attestation.id)).where(
        Attestation.person_id == person_id, Attestation.edition_id == edition.id))
    attestation = Attestation(person_id=person_id, manual_id=edition.manual_id, edition_id=edition.id,
                              edition_number=edition.number, attempt_id=attempt.id, edition_content_hash="h",
                              statement_hash="s", statement_locale="ja", attested_at=attested_at, cycle=cycle,
                              verification_code=f"code-{person_id}-{edition.id}-{cycle}-{rng.random()}")
    db.session.add(attestation)
    db.session.flush()
    record_progress(person_id, edition.manual_id, attested_at, attestation=attestation)


def _expected_from_attestations(today):
    """{(person, manual): (department, status)} by the pure rule, from the attestations and their revocations
    (not from training_progress: the revocation trigger keeps that one, and is what is under test)."""
    from portal.certificates.models import CertificateRevocation
    from portal.training.models import Attestation
    from portal.training.status import AttestationFact, counting_attestation, jst_date, manual_facts, validity_end

    facts_by_manual = manual_facts()
    revoked = select(CertificateRevocation.id).where(CertificateRevocation.attestation_id == Attestation.id).exists()
    attested = {}
    for person_id, manual_id, number, at, attestation_id, is_revoked in db.session.execute(select(
            Attestation.person_id, Attestation.manual_id, Attestation.edition_number, Attestation.attested_at,
            Attestation.id, revoked)):
        attested.setdefault((person_id, manual_id), []).append(AttestationFact(number, at, is_revoked, attestation_id))
    started = dict(((p, m), s) for p, m, s in db.session.execute(select(
        TrainingProgress.person_id, TrainingProgress.manual_id, TrainingProgress.started_edition_number)))
    active = dict(db.session.execute(select(Person.id, Person.department_id).where(Person.active.is_(True))).all())
    expected = {}
    for person_id, manual_id, due in db.session.execute(select(
            TrainingAssignment.person_id, TrainingAssignment.manual_id, TrainingAssignment.due_date)):
        if person_id not in active:
            continue
        manual = facts_by_manual[manual_id]
        counting = counting_attestation(attested.get((person_id, manual_id), ()))
        months = manual.validity_months
        valid_until = validity_end(jst_date(counting.attested_at), months) if counting and months else None
        facts = TrainingFacts(True, due, manual.required_number, counting.edition_number if counting else None,
                              valid_until, started.get((person_id, manual_id)))
        expected[(person_id, manual_id)] = (active[person_id], training_status(facts, today))
    return expected


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_revoked_certificates_stop_counting_in_every_read_over_random_histories(seed, make_department, make_person):
    """Attestations, certificate revocations and re-attestations in random order: the pure rule over the
    attestations that count, the live reads, the materialised counts and the drift check always agree."""
    from portal.certificates.models import CertificateRevocation
    from portal.training.models import Attestation
    from portal.training.status import progress_problems

    rng = random.Random(seed)
    department = make_department(f"RV{seed}")
    admin = make_person(f"RV{seed}-admin", department=department, roles=("admin",))
    people = [make_person(f"RV{seed}-{n}", department=department) for n in range(5)]
    manuals = [make_manual("rv-yearly", validity_months=12), make_manual("rv-forever")]
    clock = date(2026, 4, 1)
    for person in people:
        for manual in manuals:
            db.session.add(TrainingAssignment(person_id=person.id, manual_id=manual.id,
                                              since_edition_id=manual.editions[-1].id,
                                              due_date=clock + timedelta(days=rng.randint(-5, 40))))
    db.session.commit()
    numbers = {m.id: 1 for m in manuals}
    for step in range(45):
        event = rng.choice(["attest", "attest", "revoke", "revoke", "publish", "settle", "clock"])
        person, manual = rng.choice(people), rng.choice(manuals)
        if event == "attest":
            edition = rng.choice([e for e in db.session.scalars(select(ManualEdition).where(
                ManualEdition.manual_id == manual.id))])
            counting = db.session.scalar(select(func.count(Attestation.id)).where(
                Attestation.person_id == person.id, Attestation.edition_id == edition.id,
                ~select(CertificateRevocation.id)
                .where(CertificateRevocation.attestation_id == Attestation.id).exists()))
            if not counting:  # one that counts per edition: a new cycle only after a revocation
                _attest_for_real(person.id, edition, _moment(clock - timedelta(days=rng.choice([0, 3, 370])), rng), rng)
        elif event == "revoke":
            candidates = db.session.scalars(select(Attestation.id).where(~select(CertificateRevocation.id).where(
                CertificateRevocation.attestation_id == Attestation.id).exists())).all()
            if candidates:
                db.session.add(CertificateRevocation(attestation_id=rng.choice(candidates), reason="取消",
                                                     revoked_by_id=admin.id, revoked_at=_moment(clock, rng)))
        elif event == "publish":
            numbers[manual.id] += 1
            add_edition(manual, numbers[manual.id], change_kind=rng.choice(["material", "minor"]),
                        validity_months=rng.choice([None, 12]), effective=clock)
        elif event == "settle":
            settle(clock)
        else:
            clock += timedelta(days=rng.choice([1, 20, 200]))
        db.session.flush()
        expected = _expected_from_attestations(clock)
        assert {pair: status for pair, (_d, status) in expected.items()} == {
            (row.person_id, row.manual_id): row.status for row in status_rows(None, None, clock)}
        _assert_reads_agree(clock, [department.id])
        if step % 15 == 14:
            db.session.commit()
    assert progress_problems() == []
    settle(clock)
    assert check(clock) == []
