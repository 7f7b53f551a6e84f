"""Set-based reads of the training pages: "My training" and the reader's own progress.

Statuses come from the status engine (portal.training.status: the pure rule over the facts); this
module only shapes them for the pages, in a fixed few queries whatever the headcount.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import g, has_app_context
from sqlalchemy import select

from portal.extensions import db
from portal.manuals.models import Manual
from portal.training.models import TrainingProgress
from portal.training.status import (
    URGENCY_ORDER,
    StatusRow,
    TrainingFacts,
    jst_date,
    status_rows,
    training_status,
    validity_end,
)


@dataclass(frozen=True)
class TaskRow:
    """One line of "My training": a manual, its status and what to do next."""

    manual_id: int
    slug: str
    title: str
    status: str
    due_date: date | None
    valid_until: date | None
    attested_edition_number: int | None
    attested_at: datetime | None
    current_edition_number: int | None


def my_training(person_id: int, today: date, locale: str) -> list[TaskRow]:
    """Every manual assigned to the person, most urgent first (three queries)."""
    rows = status_rows([person_id], None, today)
    manuals = {m.id: m for m in db.session.scalars(
        select(Manual).where(Manual.id.in_([row.manual_id for row in rows])))} if rows else {}
    tasks = [TaskRow(row.manual_id, manuals[row.manual_id].slug, manuals[row.manual_id].title(locale), row.status,
                     row.due_date, row.valid_until, row.attested_edition_number, row.attested_at,
                     row.current_edition_number) for row in rows]
    return sorted(tasks, key=_urgency_key)


def _urgency_key(task: TaskRow):
    return (URGENCY_ORDER.index(task.status), task.due_date or date.max, task.slug)


def progress_for(person_id: int, manual_id: int) -> TrainingProgress | None:
    """The person's progress row on a manual, read once per request (absence remembered too)."""
    cache = g.setdefault("training_progress_rows", {}) if has_app_context() else {}
    key = (person_id, manual_id)
    if key not in cache:
        cache[key] = db.session.get(TrainingProgress, key)
    return cache[key]


def last_attested_edition_number(person_id: int, manual_id: int) -> int | None:
    """The newest edition of the manual the person attested (None: never); used by the manual pages."""
    progress = progress_for(person_id, manual_id)
    return progress.attested_edition_number if progress else None


def reader_status_row(person_id: int, assignment, editions, current_edition, today: date) -> StatusRow | None:
    """The reader's status on the manual being read, from what the reading page already loaded."""
    if assignment is None or current_edition is None:
        return None
    required = max((e.number for e in editions if e.change_kind == "material"), default=None)
    progress = progress_for(person_id, current_edition.manual_id)
    attested_at = progress.attested_at if progress else None
    months = current_edition.validity_months
    valid_until = validity_end(jst_date(attested_at), months) if months and attested_at is not None else None
    facts = TrainingFacts(True, assignment.due_date, required, progress.attested_edition_number if progress else None,
                          valid_until, progress.started_edition_number if progress else None)
    return StatusRow(person_id, current_edition.manual_id, training_status(facts, today), assignment.due_date,
                     valid_until, facts.attested_edition, attested_at, current_edition.number)
