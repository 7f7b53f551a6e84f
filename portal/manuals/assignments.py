"""Who must train on which manual, by when: set-based, a fixed few statements whatever the headcount."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, and_, delete, func, literal, not_, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.core.timeutil import to_jst, utcnow
from portal.extensions import UTCDateTime, db
from portal.manuals.audience import audience_condition, audience_people
from portal.manuals.models import ManualEdition, TrainingAssignment
from portal.org.models import Department, Person


def today_jst() -> date:
    """Today's date in Japan: due dates are Japanese calendar days."""
    return to_jst(utcnow()).date()


def due_date_for(effective_date: date, days_allowed: int, today: date) -> date:
    """Due `days_allowed` days after the effective date, or after today when that is later."""
    return max(effective_date, today) + timedelta(days=days_allowed)


def _insert():
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TrainingAssignment)


def _audience_rows(audience: dict, manual_id: int, edition_id: int, due: date):
    """SELECT (person_id, manual_id, since_edition_id, due_date, assigned_at) for the audience."""
    return (select(Person.id, literal(manual_id), literal(edition_id), literal(due, Date()),
                   literal(utcnow(), UTCDateTime()))
            .join(Department, Department.id == Person.department_id)
            .where(audience_condition(audience)))


_COLUMNS = ["person_id", "manual_id", "since_edition_id", "due_date", "assigned_at"]


def _drop_outside(manual_id: int, audience: dict) -> int:
    """People no longer in the audience (or no longer active) lose the assignment."""
    result = db.session.execute(
        delete(TrainingAssignment)
        .where(TrainingAssignment.manual_id == manual_id,
               TrainingAssignment.person_id.not_in(audience_people(audience)))
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def assign_for_material_edition(edition: ManualEdition, today: date) -> int:
    """Everyone in the edition's audience is due again (since this edition); others lose it. Returns rows set."""
    audience = edition.audience
    _drop_outside(edition.manual_id, audience)
    due = due_date_for(edition.effective_date, edition.days_allowed, today)
    statement = _insert().from_select(_COLUMNS, _audience_rows(audience, edition.manual_id, edition.id, due))
    statement = statement.on_conflict_do_update(
        index_elements=["person_id", "manual_id"],
        set_={"since_edition_id": statement.excluded.since_edition_id,
              "due_date": statement.excluded.due_date,
              "assigned_at": statement.excluded.assigned_at},
    )
    result = db.session.execute(statement)
    return result.rowcount or 0


def _current_rules(manual_ids: list[int] | None) -> list[tuple[int, ManualEdition, ManualEdition]]:
    """(manual_id, latest edition, latest material edition) per manual, in one query."""
    query = select(ManualEdition).order_by(ManualEdition.manual_id, ManualEdition.number)
    if manual_ids is not None:
        query = query.where(ManualEdition.manual_id.in_(manual_ids))
    latest: dict[int, ManualEdition] = {}
    material: dict[int, ManualEdition] = {}
    for edition in db.session.scalars(query):
        latest[edition.manual_id] = edition
        if edition.change_kind == "material":
            material[edition.manual_id] = edition
    return [(m, latest[m], material[m]) for m in latest if m in material]


def reconcile_assignments(today: date, manual_ids: list[int] | None = None) -> dict[str, int]:
    """After organisation changes: joiners and movers get assignments, leavers lose them, others keep dates."""
    counts = {"added": 0, "removed": 0}
    for manual_id, latest, material in _current_rules(manual_ids):
        audience = latest.audience
        counts["removed"] += _drop_outside(manual_id, audience)
        due = due_date_for(material.effective_date, latest.days_allowed, today)
        statement = _insert().from_select(_COLUMNS, _audience_rows(audience, manual_id, material.id, due))
        result = db.session.execute(statement.on_conflict_do_nothing(index_elements=["person_id", "manual_id"]))
        counts["added"] += result.rowcount or 0
    return counts


def audience_counts(manual_id: int | None, audience: dict) -> dict[str, int]:
    """How many people the audience covers, and how many would be added or removed against today's assignments."""
    in_audience = audience_people(audience).subquery()
    total = db.session.scalar(select(func.count()).select_from(in_audience)) or 0
    if manual_id is None:
        return {"audience": total, "added": total, "removed": 0}
    assigned = select(TrainingAssignment.person_id).where(TrainingAssignment.manual_id == manual_id)
    added = db.session.scalar(select(func.count()).select_from(in_audience)
                              .where(not_(in_audience.c.id.in_(assigned)))) or 0
    removed = db.session.scalar(select(func.count()).select_from(TrainingAssignment).where(
        and_(TrainingAssignment.manual_id == manual_id,
             TrainingAssignment.person_id.not_in(select(in_audience.c.id))))) or 0
    return {"audience": total, "added": added, "removed": removed}
