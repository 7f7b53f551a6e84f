"""The facts the status rule needs from the database: each manual's editions, and the day counts were settled.

Second in the engine's order, after the pure rule (rule.py): the SQL twins (sql.py), the stored
copies (stored.py) and the reads (reads.py) import it, never the other way round.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from portal.core.sql import id_filter
from portal.extensions import db
from portal.manuals.models import ManualEdition
from portal.training.models import TrainingStatusSettle


@dataclass(frozen=True)
class ManualFacts:
    """What the status rule needs to know about a manual's editions."""

    manual_id: int
    latest_edition_id: int
    latest_number: int
    #: Number of the latest material edition (None: the manual has none).
    required_number: int | None
    #: The latest edition's validity period in months (None: attestations never expire).
    validity_months: int | None


def manual_facts(manual_ids: Collection[int] | None = None) -> dict[int, ManualFacts]:
    """Latest edition, latest material edition and validity per manual (one query)."""
    stmt = select(ManualEdition.manual_id, ManualEdition.id, ManualEdition.number,
                  ManualEdition.change_kind, ManualEdition.validity_months).order_by(ManualEdition.number)
    if manual_ids is not None:
        stmt = stmt.where(id_filter(ManualEdition.manual_id, manual_ids))
    latest: dict[int, tuple] = {}
    required: dict[int, int] = {}
    for manual_id, edition_id, number, kind, months in db.session.execute(stmt):
        latest[manual_id] = (edition_id, number, months)
        if kind == "material":
            required[manual_id] = number
    return {
        manual_id: ManualFacts(manual_id, edition_id, number, required.get(manual_id), months)
        for manual_id, (edition_id, number, months) in latest.items()
    }


def settled_on() -> date:
    """The latest day rows were settled on; counts are exact from this day on."""
    return db.session.scalar(select(TrainingStatusSettle.settled_on).where(TrainingStatusSettle.id == 1))
