"""Per-object reads for the learner's pages, with the per-object checks (404 = not yours)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import abort, current_app
from sqlalchemy import func, select

from portal.core.timeutil import as_utc
from portal.extensions import db
from portal.manuals.models import Manual, ManualEdition, QuizVersion
from portal.org.models import Person
from portal.training.models import Attestation, QuizAttempt, TrainingProgress
from portal.training.quiz import CHANGED_SECTIONS, changed_section_ids
from portal.training.status import jst_date, validity_end

#: A submission this long after the deadline is still accepted (network, slow clicks).
SUBMIT_GRACE = timedelta(seconds=30)


def manual_by_slug(slug: str) -> Manual:
    """The manual with this slug, or 404."""
    manual = db.session.scalar(select(Manual).where(Manual.slug == slug))
    if manual is None:
        abort(404)
    return manual


def own_attempt(attempt_id: int, person: Person) -> QuizAttempt:
    """One of the person's own attempts, or 404 (someone else's looks nonexistent)."""
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.person_id != person.id:
        abort(404)
    return attempt


def own_attestation(attestation_id: int, person: Person) -> Attestation:
    """One of the person's own attestations, or 404."""
    attestation = db.session.get(Attestation, attestation_id)
    if attestation is None or attestation.person_id != person.id:
        abort(404)
    return attestation


def latest_edition(manual_id: int) -> ManualEdition | None:
    """The manual's newest published edition."""
    return db.session.scalar(select(ManualEdition).where(ManualEdition.manual_id == manual_id)
                             .order_by(ManualEdition.number.desc()).limit(1))


def edition_by_number(manual_id: int, number: int) -> ManualEdition | None:
    """One edition of a manual by its number."""
    return db.session.scalar(select(ManualEdition).where(ManualEdition.manual_id == manual_id,
                                                          ManualEdition.number == number))


def required_edition_number(manual_id: int) -> int | None:
    """Number of the manual's latest material edition."""
    return db.session.scalar(select(ManualEdition.number).where(
        ManualEdition.manual_id == manual_id, ManualEdition.change_kind == "material")
        .order_by(ManualEdition.number.desc()).limit(1))


def quiz_version_for(edition: ManualEdition) -> QuizVersion | None:
    """The edition's quiz, else the quiz of the newest earlier edition that had one."""
    if edition.quiz_version is not None:
        return edition.quiz_version
    return db.session.scalar(
        select(QuizVersion).join(ManualEdition, ManualEdition.quiz_version_id == QuizVersion.id)
        .where(ManualEdition.manual_id == edition.manual_id, ManualEdition.number < edition.number)
        .order_by(ManualEdition.number.desc()).limit(1))


def quiz_spec(quiz_version_id: int) -> dict:
    """A quiz version's bank, parsed once per process (a quiz version never changes)."""
    cache = current_app.extensions.setdefault("training_quiz_specs", {})
    spec = cache.get(quiz_version_id)
    if spec is None:
        spec = cache[quiz_version_id] = db.session.get(QuizVersion, quiz_version_id).spec
    return spec


def latest_attestation(person_id: int, manual_id: int) -> Attestation | None:
    """The person's attestation of the manual that counts: the one their progress names (a revoked one never).

    Of an edition's attestations by one person only the last cycle can count (a new cycle needs
    the earlier one revoked), so the progress row's edition and the highest cycle name it.
    """
    edition_id = db.session.scalar(select(TrainingProgress.attested_edition_id).where(
        TrainingProgress.person_id == person_id, TrainingProgress.manual_id == manual_id))
    if edition_id is None:
        return None
    return db.session.scalar(select(Attestation).where(
        Attestation.person_id == person_id, Attestation.edition_id == edition_id)
        .order_by(Attestation.cycle.desc()).limit(1))


def last_attested_at(person_id: int, manual_id: int) -> datetime | None:
    """When the person last attested the manual, counting or not (a pass before it cannot be used again)."""
    return db.session.scalar(select(func.max(Attestation.attested_at)).where(
        Attestation.person_id == person_id, Attestation.manual_id == manual_id))


def next_cycle(person_id: int, edition_id: int) -> int:
    """The cycle number of a new attestation of the edition: how many the person made before (all revoked)."""
    return db.session.scalar(select(func.count(Attestation.id)).where(
        Attestation.person_id == person_id, Attestation.edition_id == edition_id)) or 0


def open_attempt(person_id: int, edition_id: int) -> QuizAttempt | None:
    """The person's unsubmitted attempt on an edition (at most one: a unique index)."""
    return db.session.scalar(select(QuizAttempt).where(
        QuizAttempt.person_id == person_id, QuizAttempt.edition_id == edition_id,
        QuizAttempt.submitted_at.is_(None)))


def submitted_attempts(person_id: int, edition_id: int) -> list[QuizAttempt]:
    """The person's finished attempts on an edition, newest first."""
    return list(db.session.scalars(select(QuizAttempt).where(
        QuizAttempt.person_id == person_id, QuizAttempt.edition_id == edition_id,
        QuizAttempt.submitted_at.is_not(None)).order_by(QuizAttempt.submitted_at.desc(), QuizAttempt.id.desc())))


def passed_attempt_to_attest(person_id: int, manual_id: int, required: int | None,
                             since: datetime | None) -> QuizAttempt | None:
    """The newest passed attempt on the required edition or later, after the last attestation."""
    stmt = select(QuizAttempt).where(
        QuizAttempt.person_id == person_id, QuizAttempt.manual_id == manual_id,
        QuizAttempt.outcome == "passed", QuizAttempt.edition_number >= (required or 0))
    if since is not None:
        stmt = stmt.where(QuizAttempt.submitted_at > since)
    return db.session.scalar(stmt.order_by(QuizAttempt.submitted_at.desc()).limit(1))


def deadline_passed(attempt: QuizAttempt, now: datetime) -> bool:
    """True once the attempt's time limit and the grace after it are over."""
    return attempt.deadline_at is not None and as_utc(now) > as_utc(attempt.deadline_at) + SUBMIT_GRACE


@dataclass
class LearnerState:
    """Where one person stands with one manual's quiz and attestation: what the pages offer."""

    manual: Manual
    edition: ManualEdition | None
    quiz: QuizVersion | None
    spec: dict = field(default_factory=dict)
    attestation: Attestation | None = None
    attested_latest: bool = False
    #: The person's newest attestation still covers the latest material edition and is within validity.
    current: bool = False
    #: The newest attestation is on the latest edition but its validity has passed.
    expired_on_latest: bool = False
    open_attempt: QuizAttempt | None = None
    attempts_used: int = 0
    last_attempt: QuizAttempt | None = None
    wait_until: datetime | None = None
    passed_attempt: QuizAttempt | None = None
    #: Re-training on changed sections only: the sections the quiz draws from (None: full quiz).
    changed_sections: list[dict] | None = None
    #: The older edition the person still validly attested, and what changed since (for every re-training).
    attested_edition: ManualEdition | None = None
    sections_since_attested: list[dict] = field(default_factory=list)

    @property
    def attempts_left(self) -> int | None:
        """Attempts still allowed on this edition (None: unlimited)."""
        allowed = int(self.spec.get("attempts_allowed") or 0)
        return None if not allowed else max(allowed - self.attempts_used, 0)

    @property
    def blocker(self) -> str | None:
        """Why a new attempt cannot start now, or None."""
        if self.edition is None:
            return "no_edition"
        if self.quiz is None:
            return "no_quiz"
        if self.expired_on_latest:
            return "renewal_needs_edition"
        if self.attested_latest or self.current:
            return "attested"
        if self.passed_attempt is not None:
            return "passed"
        if self.attempts_left == 0:
            return "attempts_used"
        if self.wait_until is not None:
            return "wait"
        return None


def learner_state(person: Person, manual: Manual, now: datetime, today: date) -> LearnerState:
    """Everything the quiz and attestation pages need to decide the next step (a few queries)."""
    edition = latest_edition(manual.id)
    state = LearnerState(manual=manual, edition=edition, quiz=None)
    if edition is None:
        return state
    state.quiz = quiz_version_for(edition)
    state.spec = state.quiz.spec if state.quiz else {}
    required = required_edition_number(manual.id)
    state.attestation = latest_attestation(person.id, manual.id)
    state.attested_latest = state.attestation is not None and state.attestation.edition_id == edition.id
    if state.attestation is not None:
        end = validity_end(jst_date(state.attestation.attested_at), edition.validity_months)
        within = end is None or today <= end
        state.current = within and state.attestation.edition_number >= (required or 0)
        state.expired_on_latest = state.attested_latest and not within
    attempt = open_attempt(person.id, edition.id)
    state.open_attempt = attempt if attempt is not None and not deadline_passed(attempt, now) else None
    finished = submitted_attempts(person.id, edition.id)
    state.attempts_used = len(finished) + (1 if attempt is not None and state.open_attempt is None else 0)
    state.last_attempt = finished[0] if finished else None
    wait = int(state.spec.get("wait_minutes") or 0)
    if state.last_attempt is not None and not state.last_attempt.passed and wait:
        until = as_utc(state.last_attempt.submitted_at) + timedelta(minutes=wait)
        state.wait_until = until if until > as_utc(now) else None
    since = last_attested_at(person.id, manual.id)
    state.passed_attempt = None if state.attested_latest or state.current else passed_attempt_to_attest(
        person.id, manual.id, required, since)
    state.changed_sections = _changed_sections(state, today)
    return state


def _changed_sections(state: LearnerState, today: date) -> list[dict] | None:
    """Sections changed since the edition the person still validly attested, when the quiz re-trains on them."""
    attestation, edition = state.attestation, state.edition
    if attestation is None or state.current or state.attested_latest or attestation.edition_number >= edition.number:
        return None
    end = validity_end(jst_date(attestation.attested_at), edition.validity_months)
    if end is not None and today > end:
        return None  # expired: full re-training
    state.attested_edition = attestation.edition
    changed = set(changed_section_ids(attestation.edition.sections, edition.sections))
    state.sections_since_attested = [section for section in edition.sections if section["id"] in changed]
    covered = {question["section"] for question in state.spec.get("questions", ())}
    if state.spec.get("retrain") != CHANGED_SECTIONS or not covered & changed:
        return None  # the manual demands the full quiz, or no question covers the changes
    return state.sections_since_attested
