"""Reads for the manual pages: a fixed few queries per page, whatever the headcount."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import load_only

from portal.extensions import db
from portal.manuals.models import Manual, ManualEdition, TrainingAssignment

#: Edition columns for lists: everything but the (large) text, HTML and sections.
EDITION_SUMMARY = load_only(
    ManualEdition.id, ManualEdition.manual_id, ManualEdition.number, ManualEdition.change_kind,
    ManualEdition.change_summary_ja, ManualEdition.change_summary_en, ManualEdition.effective_date,
    ManualEdition.published_at, ManualEdition.content_hash,
)


@dataclass(frozen=True)
class ManualRow:
    """One line of the manuals list: the manual, its current edition, and the reader's due date."""

    manual: Manual
    edition: ManualEdition
    due_date: date | None


def manuals_for(person_id: int) -> list[ManualRow]:
    """Every published manual with its current edition; the reader's assigned ones first, by due date."""
    latest = (select(ManualEdition.manual_id, func.max(ManualEdition.number).label("number"))
              .group_by(ManualEdition.manual_id).subquery())
    rows = db.session.execute(
        select(Manual, ManualEdition, TrainingAssignment.due_date)
        .join(latest, latest.c.manual_id == Manual.id)
        .join(ManualEdition, (ManualEdition.manual_id == Manual.id) & (ManualEdition.number == latest.c.number))
        .outerjoin(TrainingAssignment, (TrainingAssignment.manual_id == Manual.id)
                   & (TrainingAssignment.person_id == person_id))
        .options(EDITION_SUMMARY)
    ).all()
    result = [ManualRow(manual, edition, due) for manual, edition, due in rows]
    return sorted(result, key=lambda r: (r.due_date is None, r.due_date or date.max, r.manual.slug))


def manual_or_404(slug: str) -> Manual:
    """The manual with this slug (any signed-in person may read published manuals)."""
    manual = db.session.scalar(select(Manual).where(Manual.slug == slug))
    if manual is None:
        abort(404)
    return manual


def edition_list(manual_id: int) -> list[ManualEdition]:
    """Every edition of a manual, oldest first, without the large text columns."""
    return list(db.session.scalars(select(ManualEdition).where(ManualEdition.manual_id == manual_id)
                                   .options(EDITION_SUMMARY).order_by(ManualEdition.number)))


def edition_or_404(manual_id: int, number: int) -> ManualEdition:
    """One full edition of a manual, or 404."""
    edition = db.session.scalar(select(ManualEdition).where(
        ManualEdition.manual_id == manual_id, ManualEdition.number == number))
    if edition is None:
        abort(404)
    return edition


def editions_pair(manual_id: int, first: int, second: int) -> dict[int, ManualEdition]:
    """Two full editions by number, in one query (missing numbers are simply absent)."""
    return {e.number: e for e in db.session.scalars(select(ManualEdition).where(
        ManualEdition.manual_id == manual_id, ManualEdition.number.in_([first, second])))}


def assignment_for(person_id: int, manual_id: int) -> TrainingAssignment | None:
    """The reader's assignment for this manual, if they must train on it."""
    return db.session.get(TrainingAssignment, (person_id, manual_id))


def _never_attested(person_id: int, manual_id: int) -> int | None:
    return None


#: Training owns attestations and sits above manuals, so it registers the answer here when the app is
#: wired (portal.training.subscribers); without it, nobody has attested anything.
_attested_edition_source: Callable[[int, int], int | None] = _never_attested


def answer_last_attested_with(source: Callable[[int, int], int | None]) -> None:
    """Let the feature that owns attestations answer last_attested_edition_number."""
    global _attested_edition_source
    _attested_edition_source = source


def last_attested_edition_number(person_id: int, manual_id: int) -> int | None:
    """The edition the person last attested (None when never), as the training feature answers it."""
    return _attested_edition_source(person_id, manual_id)
