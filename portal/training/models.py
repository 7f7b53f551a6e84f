"""Quiz attempts, attestations (確認誓約) and the per-person progress that status reads use."""
from __future__ import annotations

import json
import secrets
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.manuals.models import Manual, ManualEdition, QuizVersion, TrainingAssignment
from portal.org.models import Person

ATTEMPT_MODES = ("full", "changed_sections")
ATTEMPT_OUTCOMES = ("passed", "failed", "timed_out")


def new_verification_code() -> str:
    """A URL-safe random code of 144 bits, for verifying certificates."""
    return secrets.token_urlsafe(18)


class QuizAttempt(db.Model):
    """One try at a quiz: the questions drawn when it started, then the graded answers.

    Submission is one conditional UPDATE … WHERE submitted_at IS NULL, so a replay never
    grades twice; a trigger refuses any change to a submitted attempt.
    """

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        # At most one open attempt per person and edition (a double click starts one).
        Index("uq_quiz_attempts_open_per_edition", "person_id", "edition_id", unique=True,
              sqlite_where=text("submitted_at IS NULL"), postgresql_where=text("submitted_at IS NULL")),
        Index("ix_quiz_attempts_person_manual", "person_id", "manual_id"),
        CheckConstraint("mode IN ('full', 'changed_sections')", name="mode_known"),
        CheckConstraint("outcome IS NULL OR outcome IN ('passed', 'failed', 'timed_out')", name="outcome_known"),
        CheckConstraint("(submitted_at IS NULL) = (outcome IS NULL)", name="outcome_iff_submitted"),
        CheckConstraint("outcome IS NULL OR passed = (outcome = 'passed')", name="passed_matches_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    #: Denormalised from the edition (never changes) so per-manual reads need no join.
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id"))
    edition_id: Mapped[int] = mapped_column(ForeignKey("manual_editions.id"), index=True)
    edition_number: Mapped[int] = mapped_column(Integer)
    quiz_version_id: Mapped[int] = mapped_column(ForeignKey("quiz_versions.id"))
    #: full, or changed_sections when re-training after a material edition.
    mode: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: started_at + time limit; None when the quiz has none. The server adds a small grace.
    deadline_at: Mapped[datetime | None]
    #: [{"id": question id, "choices": [choice ids in the order shown]}], fixed at the start.
    drawn_json: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    #: {question id: [chosen choice ids]} as posted, filtered to what was offered.
    answers_json: Mapped[str | None] = mapped_column(Text)
    #: Number of drawn questions answered correctly; None until graded (and when timed out).
    score: Mapped[int | None] = mapped_column(Integer)
    question_count: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool | None]
    #: passed, failed or timed_out (submitted after deadline + grace: never graded).
    outcome: Mapped[str | None] = mapped_column(String(16))

    person: Mapped[Person] = relationship()
    manual: Mapped[Manual] = relationship()
    edition: Mapped[ManualEdition] = relationship()
    quiz_version: Mapped[QuizVersion] = relationship()

    @property
    def drawn(self) -> list[dict]:
        """The drawn questions with their choice order."""
        return json.loads(self.drawn_json)

    @property
    def answers(self) -> dict[str, list[str]]:
        """The submitted answers ({} before submission)."""
        return json.loads(self.answers_json or "{}")


class Attestation(db.Model):
    """A person's signed statement that they read and understood one edition. Never changed.

    One per person × edition × cycle: a person attests an edition again (the next cycle) only
    after the certificate of the earlier attestation was revoked (it no longer counts).
    """

    __tablename__ = "attestations"
    __table_args__ = (
        UniqueConstraint("person_id", "edition_id", "cycle"),
        UniqueConstraint("attempt_id"),
        UniqueConstraint("verification_code"),
        Index("ix_attestations_person_manual", "person_id", "manual_id"),
        CheckConstraint(
            "signature_method IS NULL OR signature_method IN ('password', 'sso_header') OR "
            "(signature_method = 'oidc' AND signed_auth_time IS NOT NULL AND signature_token_hash IS NOT NULL)",
            name="signature_method_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id"), index=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("manual_editions.id"))
    edition_number: Mapped[int] = mapped_column(Integer)
    #: The passed attempt this attestation follows.
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id"))
    #: The edition's content hash at the time: proves which text was attested.
    edition_content_hash: Mapped[str] = mapped_column(String(64))
    #: sha256 over the statement (ja and en) the person confirmed, and the language shown.
    statement_hash: Mapped[str] = mapped_column(String(64))
    statement_locale: Mapped[str] = mapped_column(String(8))
    attested_at: Mapped[datetime] = mapped_column(default=utcnow)
    client_address: Mapped[str] = mapped_column(String(80), default="")
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    #: ≥128-bit random, URL-safe: certificates are verified by it.
    verification_code: Mapped[str] = mapped_column(String(40), default=new_verification_code)
    #: How the person signed (portal/training/signing.py): password, oidc (re-authenticated at the company's
    #: provider) or sso_header (employee number and key phrase re-typed). NULL before revision 0009, when
    #: the local password was the only way to sign.
    signature_method: Mapped[str | None] = mapped_column(String(16))
    #: oidc: when the provider says the person authenticated for this signature (its auth_time).
    signed_auth_time: Mapped[datetime | None]
    #: oidc: sha256 naming the ID token of that authentication (its jti or sid).
    signature_token_hash: Mapped[str | None] = mapped_column(String(64))
    #: 0 for the first attestation of the edition by the person; 1, 2… for each one after a revocation.
    cycle: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    person: Mapped[Person] = relationship()
    manual: Mapped[Manual] = relationship()
    edition: Mapped[ManualEdition] = relationship()
    attempt: Mapped[QuizAttempt] = relationship()


class TrainingProgress(db.Model):
    """Per person × manual: the newest attestation that counts and the newest quiz start, kept for
    set-based status reads.

    Written by the training services, in the same transaction as the attempt or attestation it
    summarises, and by a trigger on certificate_revocations (migration 0011): a revoked
    certificate's attestation no longer counts, so the row falls back to the newest one that is
    not revoked (status.counting_attestation decides the same). Attestations stay the evidence.
    """

    __tablename__ = "training_progress"
    __table_args__ = (
        # Covering: a department's statuses are read from the index alone (no scattered row reads).
        Index("ix_training_progress_status", "person_id", "manual_id", "attested_edition_number", "attested_at",
              "started_edition_number"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id", ondelete="CASCADE"), primary_key=True, index=True)
    attested_edition_id: Mapped[int | None] = mapped_column(ForeignKey("manual_editions.id"))
    attested_edition_number: Mapped[int | None] = mapped_column(Integer)
    attested_at: Mapped[datetime | None]
    #: Newest edition number the person started a quiz on.
    started_edition_number: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


#: The training status reads need each assignment's due date by person; covering it in an index
#: keeps a department's page to index reads (assignments are written manual by manual, so a
#: person's rows are scattered). Owned by the training feature, created in its migration 0003.
training_assignments_status_index = Index(
    "ix_training_assignments_status", TrainingAssignment.person_id, TrainingAssignment.manual_id,
    TrainingAssignment.due_date)


class TrainingStatusRow(db.Model):
    """Per assigned person × manual: the facts the status rule needs, materialised for fast reads.

    Kept by portal.training.status.settle (the pure rule decides every column) from the facts in
    training_assignments, training_progress, manual_editions and people. Database triggers
    (migration 0008) mark a row `pending` in the same transaction as any change to those
    facts, whoever makes it; readers decide pending rows from the facts, live. A settled row's
    status on any day is a CASE over its own columns (portal.training.status.sql.settled_status_case).
    """

    __tablename__ = "training_status_rows"
    __table_args__ = (
        Index("ix_training_status_rows_stale_from", "stale_from"),
        CheckConstraint("standing IS NULL OR standing BETWEEN 0 AND 3", name="standing_known"),
        # A department's rows are read by person range on the primary key; on SQLite the table
        # is that key's b-tree. No wider index: every fact change rewrites the row (trigger cost).
        {"sqlite_with_rowid": False},
    )

    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manual_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: A fact changed since the row was settled: decide it from the facts until the next settle.
    pending: Mapped[bool] = mapped_column(default=True)
    #: The person's department when settled; the settled status is counted there.
    department_id: Mapped[int | None] = mapped_column(Integer)
    #: 0 nothing, 1 started the required edition, 2 attested an older edition, 3 attested the required one.
    standing: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[date | None]
    #: Last day the attestation counts (None: never attested, or no validity period).
    valid_until: Mapped[date | None]
    attested_edition_number: Mapped[int | None] = mapped_column(Integer)
    attested_at: Mapped[datetime | None]
    #: The status on the settle day, as counted in training_status_counts (None: not counted).
    counted_status: Mapped[str | None] = mapped_column(String(16))
    #: First JST day on which counted_status may be wrong: the next change by the mere passing of
    #: time, or STALE_NOW when a fact changed; None when the status never changes by itself.
    stale_from: Mapped[date | None]


class TrainingStatusCount(db.Model):
    """Department × manual: settled rows per counted status (the sum over training_status_rows)."""

    __tablename__ = "training_status_counts"

    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manual_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    current: Mapped[int] = mapped_column(Integer, default=0)
    due: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[int] = mapped_column(Integer, default=0)
    not_started: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    expired: Mapped[int] = mapped_column(Integer, default=0)


class TrainingStatusSettle(db.Model):
    """The one row saying on which JST day the counts were last settled (reads before it count live)."""

    __tablename__ = "training_status_settle"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settled_on: Mapped[date]
    settled_at: Mapped[datetime] = mapped_column(default=utcnow)


class CertificateRevocation(db.Model):
    """An admin withdrew the certificate of one attestation (at most once); it then reads "revoked"."""

    __tablename__ = "certificate_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The attestation whose certificate no longer counts (one revocation per attestation).
    attestation_id: Mapped[int] = mapped_column(ForeignKey("attestations.id"), unique=True)
    #: Why, as the admin typed it (shown to auditors, never on the public verification page).
    reason: Mapped[str] = mapped_column(Text)
    revoked_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)

    revoked_by: Mapped[Person] = relationship()
