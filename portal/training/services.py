"""Starting and submitting quiz attempts, and attesting: the state changes of training.

Each function takes the acting person, flushes and never commits. Races are settled by
the database: one open attempt per person and edition (partial unique index), one
grading per attempt (conditional UPDATE), one attestation per person, edition and cycle (a
person attests an edition again only after the earlier attestation's certificate was revoked).
"""
from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, literal, select, update

from portal.audit.services import record_event
from portal.core import signals
from portal.core.refusals import Refusal
from portal.core.timeutil import as_utc, utcnow
from portal.extensions import db
from portal.manuals.models import Manual, ManualEdition
from portal.org.models import Person
from portal.training import loaders
from portal.training.models import Attestation, QuizAttempt, TrainingProgress, new_verification_code
from portal.training.quiz import DrawnQuestion, clean_answers, draw, grade, unanswered
from portal.training.signing import PASSWORD, Signature, SignatureRefused, check_signature
from portal.training.status import jst_today

#: Used when an edition carries no statement of its own (ja, en).
DEFAULT_STATEMENT = {
    "ja": "私は、この版の内容を読み、理解しました。記載された規則を遵守することを誓約します。",
    "en": "I have read and understood this edition, and I undertake to follow the rules it sets out.",
}


def _insert(table):
    """The backend's INSERT that can say ON CONFLICT DO …."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _raise_to(column, new):
    """column := new when new is larger (NULL counts as smallest)."""
    return case((column.is_(None) | (column < new), new), else_=column)


def record_progress(person_id: int, manual_id: int, now: datetime, *, started: int | None = None,
                     attestation: Attestation | None = None) -> None:
    """Upsert the person's progress row: newest quiz start and newest attestation only ever grow."""
    table = TrainingProgress.__table__
    row = {"person_id": person_id, "manual_id": manual_id, "updated_at": now, "started_edition_number": started,
           "attested_edition_id": None, "attested_edition_number": None, "attested_at": None}
    changes = {"updated_at": now}
    if started is not None:
        changes["started_edition_number"] = _raise_to(table.c.started_edition_number, started)
    if attestation is not None:
        row.update(attested_edition_id=attestation.edition_id, attested_edition_number=attestation.edition_number,
                   attested_at=attestation.attested_at)
        newer = (table.c.attested_edition_number.is_(None)
                 | (table.c.attested_edition_number < attestation.edition_number))
        for name in ("attested_edition_id", "attested_edition_number", "attested_at"):
            # Typed as the column: a bare value in a CASE would skip UTCDateTime's conversion to UTC.
            changes[name] = case((newer, literal(row[name], table.c[name].type)), else_=table.c[name])
    stmt = _insert(table).values(**row)
    db.session.execute(stmt.on_conflict_do_update(index_elements=["person_id", "manual_id"], set_=changes))


def close_if_timed_out(attempt: QuizAttempt, now: datetime) -> bool:
    """Record an abandoned attempt past its deadline + grace as timed out (never graded)."""
    if attempt.submitted_at is not None or not loaders.deadline_passed(attempt, now):
        return False
    closed_at = as_utc(attempt.deadline_at) + loaders.SUBMIT_GRACE
    return _finish(attempt, closed_at, answers=None, score=None, outcome="timed_out")


@dataclass(frozen=True)
class AttemptToGrade:
    """The columns of an attempt that grading reads: a submission needs no ORM object."""

    id: int
    person_id: int
    quiz_version_id: int
    deadline_at: datetime | None
    submitted_at: datetime | None
    #: The drawn questions with their choice order (QuizAttempt.drawn).
    drawn: list[dict]


# Built once: a submission runs them on every request, and building them cost more than running them.
_ATTEMPTS = QuizAttempt.__table__
_READ_TO_GRADE = select(
    _ATTEMPTS.c.id, _ATTEMPTS.c.person_id, _ATTEMPTS.c.quiz_version_id, _ATTEMPTS.c.deadline_at,
    _ATTEMPTS.c.submitted_at, _ATTEMPTS.c.drawn_json,
).where(_ATTEMPTS.c.id == bindparam("attempt_id"))
_CLOSE_ONCE = update(_ATTEMPTS).where(
    _ATTEMPTS.c.id == bindparam("attempt_id"), _ATTEMPTS.c.submitted_at.is_(None),
).values(
    submitted_at=bindparam("closed_at", type_=_ATTEMPTS.c.submitted_at.type), answers_json=bindparam("answers"),
    score=bindparam("new_score"), passed=bindparam("has_passed"), outcome=bindparam("new_outcome"),
)


def attempt_to_grade(attempt_id: int, person: Person) -> AttemptToGrade | None:
    """One of the person's own attempts, as grading needs it; None when there is none or it is someone else's."""
    row = db.session.execute(_READ_TO_GRADE, {"attempt_id": attempt_id}).first()
    if row is None or row.person_id != person.id:
        return None
    return AttemptToGrade(row.id, row.person_id, row.quiz_version_id, row.deadline_at, row.submitted_at,
                          json.loads(row.drawn_json))


def _finish(attempt: QuizAttempt | AttemptToGrade, now: datetime, *, answers: dict | None, score: int | None,
            outcome: str) -> bool:
    """The one conditional UPDATE that closes an attempt; False when it was already closed."""
    db.session.flush()  # a Core statement does not autoflush
    result = db.session.execute(_CLOSE_ONCE, {
        "attempt_id": attempt.id, "closed_at": now, "new_score": score,
        "answers": None if answers is None else json.dumps(answers, ensure_ascii=False),
        "has_passed": outcome == "passed", "new_outcome": outcome})
    if isinstance(attempt, QuizAttempt):
        db.session.expire(attempt)  # its graded columns are read afresh
    return result.rowcount == 1


def start_attempt(actor: Person, manual: Manual, *, now: datetime | None = None,
                  rng: random.Random | None = None) -> QuizAttempt:
    """Open (or resume) the person's attempt on the manual's latest edition, with its questions drawn."""
    now = now or utcnow()
    edition = loaders.latest_edition(manual.id)
    if edition is not None:
        stale = loaders.open_attempt(actor.id, edition.id)
        if stale is not None:
            close_if_timed_out(stale, now)
    state = loaders.learner_state(actor, manual, now, jst_today(now))
    if state.open_attempt is not None:
        return state.open_attempt
    if state.blocker is not None:
        raise Refusal(state.blocker, until=state.wait_until)
    spec = state.spec
    sections = None if state.changed_sections is None else [s["id"] for s in state.changed_sections]
    drawn, mode = draw(spec, rng or random.SystemRandom(), sections)
    limit = spec.get("time_limit_minutes")
    inserted = db.session.execute(
        _insert(QuizAttempt.__table__).values(
            person_id=actor.id, manual_id=manual.id, edition_id=edition.id, edition_number=edition.number,
            quiz_version_id=state.quiz.id, mode=mode, started_at=now,
            deadline_at=now + timedelta(minutes=int(limit)) if limit else None,
            drawn_json=json.dumps([{"id": q.id, "choices": list(q.choice_ids)} for q in drawn], ensure_ascii=False),
            question_count=len(drawn),
        ).on_conflict_do_nothing().returning(QuizAttempt.__table__.c.id)
    ).scalar()
    record_progress(actor.id, manual.id, now, started=edition.number)
    if inserted is None:  # a second click or tab opened it a moment ago: resume that one
        return loaders.open_attempt(actor.id, edition.id)
    return db.session.get(QuizAttempt, inserted)


def submit_attempt(actor: Person, attempt: QuizAttempt | AttemptToGrade, posted: Mapping[str, Sequence[str]], *,
                   now: datetime | None = None) -> QuizAttempt | AttemptToGrade:
    """Grade the posted answers once; only the chosen choice ids are read from the client."""
    now = now or utcnow()
    if attempt.person_id != actor.id:
        raise Refusal("not_found")
    if attempt.submitted_at is not None:
        raise Refusal("already_submitted")
    drawn = [DrawnQuestion(q["id"], tuple(q["choices"])) for q in attempt.drawn]
    answers = clean_answers(drawn, posted)
    if loaders.deadline_passed(attempt, now):
        # Too late: kept as evidence, never graded, counted as a failed attempt.
        if not _finish(attempt, now, answers=answers, score=None, outcome="timed_out"):
            raise Refusal("already_submitted")
        return attempt
    missing = unanswered(drawn, answers)
    if missing:
        raise Refusal("unanswered", questions=missing, answers=answers)
    result = grade(loaders.quiz_spec(attempt.quiz_version_id), drawn, answers)
    if not _finish(attempt, now, answers=answers, score=result.score,
                   outcome="passed" if result.passed else "failed"):
        raise Refusal("already_submitted")
    return attempt


def statement_texts(edition: ManualEdition) -> dict[str, str]:
    """The declaration of an edition (ja, en); the default one when the edition has none."""
    if edition.statement_ja.strip():
        return {"ja": edition.statement_ja, "en": edition.statement_en or edition.statement_ja}
    return dict(DEFAULT_STATEMENT)


def statement_hash(texts: Mapping[str, str]) -> str:
    """sha256 over the statement in both languages (canonical JSON)."""
    canonical = json.dumps({"ja": texts["ja"], "en": texts["en"]}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def attest_edition(actor: Person, manual: Manual, *, locale: str, client_address: str, user_agent: str,
                   signature: Signature | None = None, password: str | None = None, edition_id: int | None = None,
                   statement_seen: str | None = None, now: datetime | None = None) -> Attestation:
    """Record the person's signed attestation of the latest edition after a pass.

    `signature` comes from portal.training.signing.check_signature; without one, `password` is checked
    there as a local-password signature. `edition_id` and `statement_seen` (its hash), when given, are
    what the person saw when they pressed the button: a newer edition since then refuses.
    """
    now = now or utcnow()
    if signature is None:
        try:
            signature = check_signature(actor, PASSWORD, {"password": password or ""})
        except SignatureRefused as refusal:
            raise Refusal("wrong_password") from refusal
    state = loaders.learner_state(actor, manual, now, jst_today(now))
    if state.edition is None:
        raise Refusal("no_edition")
    if edition_id is not None and (state.edition.id != edition_id
                                   or statement_hash(statement_texts(state.edition)) != statement_seen):
        raise Refusal("edition_changed")
    if state.attested_latest or state.current:
        raise Refusal("attested")
    if state.passed_attempt is None:
        raise Refusal("not_passed")
    edition, attempt = state.edition, state.passed_attempt
    texts = statement_texts(edition)
    inserted = db.session.execute(
        _insert(Attestation.__table__).values(
            person_id=actor.id, manual_id=manual.id, edition_id=edition.id, edition_number=edition.number,
            attempt_id=attempt.id, edition_content_hash=edition.content_hash, statement_hash=statement_hash(texts),
            statement_locale=locale if locale in ("ja", "en") else "ja", attested_at=now,
            client_address=(client_address or "")[:80], user_agent=(user_agent or "")[:400],
            verification_code=new_verification_code(), signature_method=signature.method,
            signed_auth_time=signature.auth_time, signature_token_hash=signature.token_hash,
            cycle=loaders.next_cycle(actor.id, edition.id),
        ).on_conflict_do_nothing().returning(Attestation.__table__.c.id)
    ).scalar()
    if inserted is None:
        raise Refusal("attested")  # the same form sent twice
    attestation = db.session.get(Attestation, inserted)
    record_progress(actor.id, manual.id, now, attestation=attestation)
    signals.attested.send("training", person_id=actor.id, manual_id=manual.id, attestation=attestation, now=now)
    record_event(actor, "training.attested", object_type="attestation", object_id=attestation.id, details={
        "manual": manual.slug, "edition": edition.number, "edition_content_hash": edition.content_hash,
        "statement_hash": attestation.statement_hash, "attempt_id": attempt.id, "score": attempt.score,
        "questions": attempt.question_count, "user_agent": attestation.user_agent,
        "signature_method": signature.method,
        "signed_auth_time": signature.auth_time.isoformat() if signature.auth_time else None,
        "signature_token_hash": signature.token_hash})
    return attestation

