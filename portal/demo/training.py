"""Demo training history: demo people in every status, so the pages and dashboards show something real.

Real attempts and attestations only ever happen "now"; a believable demo needs some from months
ago. The functions here write such backdated rows directly and are for the demo only: their
names say so, and nothing outside portal/demo (and tests) calls them.
"""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select, update

from portal.audit.services import record_event
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.manuals.models import Manual, ManualEdition, TrainingAssignment
from portal.org.models import Person
from portal.training.loaders import quiz_version_for
from portal.training.models import Attestation, QuizAttempt
from portal.training.quiz import draw, grade
from portal.training.services import record_progress, statement_hash, statement_texts
from portal.training.status import jst_today

PSI, LOOKUP, CORRECTIVE = "partner-subscriber-information", "lookup-purpose-approval", "corrective-instructions"
#: What each demo sign-in should see: {employee_no: {manual slug: plan}} (plans below).
#: E1001 is overdue on a manual the customer-information system requires, so asking for access shows
#: why it cannot be granted until they train (the access walkthrough); the partner manual stays "due"
#: (re-training on the changed sections, which still counts until its due date).
DEMO_PLANS = {
    "E1001": {PSI: "due", LOOKUP: "overdue"},
    "M2001": {PSI: "current", LOOKUP: "current", CORRECTIVE: "current"},
    "M2002": {PSI: "overdue", LOOKUP: "in_progress", CORRECTIVE: "not_started"},
    "M2003": {PSI: "expired", LOOKUP: "current", CORRECTIVE: "current"},
    "G4001": {PSI: "in_progress", LOOKUP: "not_started"},
    "T3001": {LOOKUP: "current", CORRECTIVE: "current"},
    "A5001": {LOOKUP: "current", CORRECTIVE: "current"},
    "S6001": {LOOKUP: "current", CORRECTIVE: "due_soon"},
}
#: Everyone else cycles through these, so each department shows every status.
STAFF_CYCLE = ("current", "current", "due", "overdue", "expired", "in_progress", "not_started", "current")


def load_demo_training(today: date | None = None) -> int:
    """Give the demo people a training history in every status; returns the number of pairs set up."""
    today = today or jst_today()
    manuals = {m.slug: m for m in db.session.scalars(select(Manual))}
    if not manuals:
        return 0
    assigned = {(a.person_id, a.manual_id) for a in db.session.scalars(select(TrainingAssignment))}
    people = list(db.session.scalars(select(Person).order_by(Person.employee_no)))
    rng = random.Random(2026)
    count = 0
    for index, person in enumerate(people):
        plans = DEMO_PLANS.get(person.employee_no)
        for slug, manual in sorted(manuals.items()):
            if (person.id, manual.id) not in assigned:
                continue
            plan = plans.get(slug, "not_started") if plans is not None else STAFF_CYCLE[(index + len(slug)) % 8]
            count += _demo_history(person, manual, plan, today, rng)
    db.session.flush()
    return count


def _editions(manual: Manual) -> list[ManualEdition]:
    return list(db.session.scalars(select(ManualEdition).where(ManualEdition.manual_id == manual.id)
                                   .order_by(ManualEdition.number)))


def _demo_history(person: Person, manual: Manual, plan: str, today: date, rng: random.Random) -> int:
    editions = _editions(manual)
    latest, first = editions[-1], editions[0]
    now = utcnow()
    if plan == "current":
        at = now - timedelta(days=rng.randint(3, 40))
        attempt = record_backdated_attempt_for_demo(person, latest, at, passed=True, rng=rng)
        record_backdated_attestation_for_demo(person, latest, attempt, at + timedelta(minutes=5))
    elif plan in ("due", "expired") and len(editions) > 1:
        days = 150 if plan == "due" else 430  # validity is 12 months: 430 days ago has expired
        at = now - timedelta(days=days + rng.randint(0, 20))
        attempt = record_backdated_attempt_for_demo(person, first, at, passed=True, rng=rng)
        record_backdated_attestation_for_demo(person, first, attempt, at + timedelta(minutes=5))
    elif plan == "expired":
        at = now - timedelta(days=(latest.validity_months or 12) * 31 + 20)
        attempt = record_backdated_attempt_for_demo(person, latest, at, passed=True, rng=rng)
        record_backdated_attestation_for_demo(person, latest, attempt, at + timedelta(minutes=5))
    elif plan == "overdue":
        set_due_date_for_demo(person, manual, today - timedelta(days=rng.randint(3, 20)))
    elif plan == "in_progress":
        record_backdated_attempt_for_demo(person, latest, now - timedelta(days=rng.randint(1, 5)), passed=False,
                                          rng=rng)
    elif plan == "due_soon":
        set_due_date_for_demo(person, manual, today + timedelta(days=5))
    elif plan == "due":  # a manual with one edition cannot be "due": leave it in progress instead
        record_backdated_attempt_for_demo(person, latest, now - timedelta(days=2), passed=False, rng=rng)
    return 1


def set_due_date_for_demo(person: Person, manual: Manual, due: date) -> None:
    """Demo only: move an assignment's due date (to make someone overdue or due soon)."""
    db.session.execute(update(TrainingAssignment).where(
        TrainingAssignment.person_id == person.id, TrainingAssignment.manual_id == manual.id).values(due_date=due))


def record_backdated_attempt_for_demo(person: Person, edition: ManualEdition, at: datetime, *, passed: bool,
                                      rng: random.Random) -> QuizAttempt:
    """Demo only: a finished attempt at a past moment, answered all right (passed) or all wrong."""
    quiz = quiz_version_for(edition)
    spec = quiz.spec
    drawn, mode = draw(spec, rng)
    bank = {q["id"]: q for q in spec["questions"]}
    answers = {q.id: (list(bank[q.id]["correct"]) if passed else
                      [next(c for c in q.choice_ids if c not in bank[q.id]["correct"])]) for q in drawn}
    result = grade(spec, drawn, answers)
    attempt = QuizAttempt(
        person_id=person.id, manual_id=edition.manual_id, edition_id=edition.id, edition_number=edition.number,
        quiz_version_id=quiz.id, mode=mode, started_at=at - timedelta(minutes=8), deadline_at=None,
        drawn_json=json.dumps([{"id": q.id, "choices": list(q.choice_ids)} for q in drawn], ensure_ascii=False),
        submitted_at=at, answers_json=json.dumps(answers, ensure_ascii=False), score=result.score,
        question_count=result.total, passed=result.passed, outcome="passed" if result.passed else "failed")
    db.session.add(attempt)
    db.session.flush()
    record_progress(person.id, edition.manual_id, at, started=edition.number)
    return attempt


def record_backdated_attestation_for_demo(person: Person, edition: ManualEdition, attempt: QuizAttempt,
                                          at: datetime) -> Attestation:
    """Demo only: an attestation made at a past moment (with its audit event, marked as demo data)."""
    texts = statement_texts(edition)
    attestation = Attestation(
        person_id=person.id, manual_id=edition.manual_id, edition_id=edition.id, edition_number=edition.number,
        attempt_id=attempt.id, edition_content_hash=edition.content_hash, statement_hash=statement_hash(texts),
        statement_locale="ja", attested_at=at.astimezone(timezone.utc), client_address="demo",
        user_agent="portal demo")
    db.session.add(attestation)
    db.session.flush()
    record_progress(person.id, edition.manual_id, at, attestation=attestation)
    record_event(person, "training.attested", object_type="attestation", object_id=attestation.id, details={
        "manual": edition.manual.slug, "edition": edition.number, "edition_content_hash": edition.content_hash,
        "statement_hash": attestation.statement_hash, "attempt_id": attempt.id, "score": attempt.score,
        "questions": attempt.question_count, "demo_backdated_to": at.isoformat()})
    return attestation
