"""Publishing manuals: one transaction for the whole plan, one audit event per edition."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import select, text

from portal.audit.services import record_event
from portal.core import signals
from portal.extensions import db
from portal.manuals.assignments import assign_for_material_edition, reconcile_assignments
from portal.manuals.models import Manual, ManualEdition, QuizVersion
from portal.manuals.planning import ManualPlan, PublishPlan, build_publish_plan
from portal.manuals.problems import PublishRefused
from portal.manuals.quizzes import QuizSource

# Any constant; serialises publishers on PostgreSQL (SQLite serialises writers anyway).
_PG_PUBLISH_LOCK = 7243021


def lock_publishing() -> None:
    """Hold the publishing lock until the transaction ends (PostgreSQL)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_PUBLISH_LOCK})


def _quiz_version(manual: Manual, quiz: QuizSource | None) -> QuizVersion | None:
    """The stored version of this quiz text, created when new (a quiz version never changes)."""
    if quiz is None:
        return None
    existing = db.session.scalar(select(QuizVersion).where(
        QuizVersion.manual_id == manual.id, QuizVersion.content_hash == quiz.content_hash))
    if existing is not None:
        return existing
    version = QuizVersion(manual_id=manual.id, content_hash=quiz.content_hash, source_yaml=quiz.text,
                          spec_json=quiz.spec_json)
    db.session.add(version)
    db.session.flush()
    return version


def _publish_manual(actor, entry: ManualPlan, today: date) -> list[ManualEdition]:
    manual = db.session.scalar(select(Manual).where(Manual.slug == entry.slug))
    if manual is None:
        manual = Manual(slug=entry.slug, title_ja=entry.title_ja, title_en=entry.title_en)
        db.session.add(manual)
        db.session.flush()
    manual.title_ja, manual.title_en = entry.title_ja, entry.title_en
    quiz_version = _quiz_version(manual, entry.quiz)
    published = []
    for source in entry.new_editions:
        rendered = source.rendered
        edition = ManualEdition(
            manual_id=manual.id, number=source.number, change_kind=source.change_kind,
            change_summary_ja=source.change_summary_ja, change_summary_en=source.change_summary_en,
            effective_date=source.effective_date, published_by_id=getattr(actor, "id", None),
            source_text=source.text, content_hash=source.content_hash, html=rendered.html,
            toc_json=json.dumps(rendered.toc, ensure_ascii=False),
            sections_json=json.dumps(rendered.sections, ensure_ascii=False),
            audience_json=json.dumps(source.audience, ensure_ascii=False, sort_keys=True),
            days_allowed=source.days_allowed, validity_months=source.validity_months,
            statement_ja=source.statement_ja, statement_en=source.statement_en,
            quiz_version_id=quiz_version.id if quiz_version else None,
        )
        db.session.add(edition)
        db.session.flush()
        if edition.change_kind == "material":
            assign_for_material_edition(edition, today)
        else:
            reconcile_assignments(today, [manual.id])
        record_event(actor, "manual.published", object_type="manual_edition", object_id=f"{entry.slug}#{source.number}",
                     details={"slug": entry.slug, "number": source.number, "change_kind": source.change_kind,
                              "file": source.file, "content_hash": source.content_hash,
                              "quiz_hash": entry.quiz.content_hash if entry.quiz else "", "plan": entry.summary()})
        published.append(edition)
    return published


def publish_plan(actor, plan: PublishPlan, today: date) -> list[ManualEdition]:
    """Publish every new edition of a problem-free plan; flushes, never commits (all or nothing)."""
    if plan.problems:
        raise PublishRefused(plan.problems)
    editions = []
    for entry in plan.changes:
        editions.extend(_publish_manual(actor, entry, today))
    signals.edition_published.send("manuals", editions=editions)
    return editions


def publish_from_repository(actor, manuals_dir: Path, quizzes_dir: Path, today: date,
                            expected_fingerprint: str | None = None) -> tuple[PublishPlan, list[ManualEdition]]:
    """Lock, plan and publish in one go; raises PublishRefused on any problem, or when the plan changed."""
    lock_publishing()
    plan = build_publish_plan(manuals_dir, quizzes_dir)
    if expected_fingerprint is not None and plan.fingerprint != expected_fingerprint:
        raise PublishRefused([])
    return plan, publish_plan(actor, plan, today)
