"""Manuals, their immutable editions, quiz versions and who must train on what."""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.i18n import in_language
from portal.core.timeutil import utcnow
from portal.extensions import db

CHANGE_KINDS = ("material", "minor")


class Manual(db.Model):
    """A document identified by a slug (マニュアル); its text lives in editions."""

    __tablename__ = "manuals"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title_ja: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    editions: Mapped[list[ManualEdition]] = relationship(
        back_populates="manual", order_by="ManualEdition.number", foreign_keys="ManualEdition.manual_id"
    )

    def title(self, locale: str) -> str:
        """Title in the viewer's language, falling back to Japanese."""
        return in_language(locale, self.title_ja, self.title_en)


class QuizVersion(db.Model):
    """One published question bank for a manual; never changes (identified by its hash)."""

    __tablename__ = "quiz_versions"
    __table_args__ = (UniqueConstraint("manual_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id"), index=True)
    #: sha256 of the YAML file's bytes.
    content_hash: Mapped[str] = mapped_column(String(64))
    source_yaml: Mapped[str] = mapped_column(Text)
    #: The validated bank as JSON, answers included: server side only, never sent to a browser.
    spec_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def spec(self) -> dict:
        """The validated bank as a dict."""
        return json.loads(self.spec_json)


class ManualEdition(db.Model):
    """One immutable published text of a manual (版)."""

    __tablename__ = "manual_editions"
    __table_args__ = (
        UniqueConstraint("manual_id", "number"),
        CheckConstraint("change_kind IN ('material', 'minor')", name="change_kind_known"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("days_allowed >= 0", name="days_allowed_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id"), index=True)
    #: The edition number from the front matter; only ever grows.
    number: Mapped[int] = mapped_column(Integer)
    #: material (要再受講: people must re-train) or minor (軽微).
    change_kind: Mapped[str] = mapped_column(String(16))
    change_summary_ja: Mapped[str] = mapped_column(Text, default="")
    change_summary_en: Mapped[str] = mapped_column(Text, default="")
    effective_date: Mapped[date]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    #: The Markdown file exactly as published (front matter included) and its sha256.
    source_text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: Safe HTML rendered once at publish.
    html: Mapped[str] = mapped_column(Text)
    #: [{"id", "title", "level"}] for the table of contents.
    toc_json: Mapped[str] = mapped_column(Text, default="[]")
    #: [{"id", "title", "level", "text", "hash"}]: what the comparison and re-training use.
    sections_json: Mapped[str] = mapped_column(Text, default="[]")
    #: {"everyone": bool, "departments": [...], "kinds": [...], "roles": [...]}
    audience_json: Mapped[str] = mapped_column(Text, default="{}")
    #: Days after the effective date (or after joining the audience) to complete training.
    days_allowed: Mapped[int] = mapped_column(Integer, default=30)
    #: Periodic re-training: an attestation expires after this many months; None = never.
    validity_months: Mapped[int | None] = mapped_column(Integer)
    #: The declaration the learner signs (確認誓約), ja and en.
    statement_ja: Mapped[str] = mapped_column(Text, default="")
    statement_en: Mapped[str] = mapped_column(Text, default="")
    quiz_version_id: Mapped[int | None] = mapped_column(ForeignKey("quiz_versions.id"))

    manual: Mapped[Manual] = relationship(back_populates="editions", foreign_keys=[manual_id])
    quiz_version: Mapped[QuizVersion | None] = relationship()

    @property
    def sections(self) -> list[dict]:
        """Sections with their text and hash."""
        return json.loads(self.sections_json)

    @property
    def toc(self) -> list[dict]:
        """Table of contents entries."""
        return json.loads(self.toc_json)

    @property
    def audience(self) -> dict:
        """The audience rule."""
        return json.loads(self.audience_json)


class TrainingAssignment(db.Model):
    """Person × manual: they must train on it, by due_date (set-based on publish and org change)."""

    __tablename__ = "training_assignments"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id", ondelete="CASCADE"), primary_key=True, index=True)
    #: The material edition that set the current due date.
    since_edition_id: Mapped[int] = mapped_column(ForeignKey("manual_editions.id"))
    due_date: Mapped[date]
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
