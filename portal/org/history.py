"""Where everyone was, and when: an append-only row for every department or active change of a person.

Past headcounts are counted from it, so an HR import cannot change a figure of a past date. The
HR import writes the rows of its joiners, movers, leavers and re-hires (record_import_history);
a person created or changed one at a time through the ORM gets a row from the mapper events
installed by `install()`. Database triggers refuse UPDATE and DELETE (migration 0012).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, event, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from portal.core import timeutil
from portal.extensions import db
from portal.org.models import Person

_PENDING = "org_history_pending"


class PersonDepartmentHistory(db.Model):
    """From `valid_from` on, the person belonged to `department_id` and was active or not."""

    __tablename__ = "person_department_history"
    __table_args__ = (Index("ix_person_department_history_person_id_valid_from", "person_id", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean)
    #: When the change took effect (the moment of the import or edit).
    valid_from: Mapped[datetime]
    recorded_at: Mapped[datetime]


def record_history(changes: list[tuple[int, int, bool, datetime]], now: datetime) -> None:
    """Append rows for (person id, department id, active, valid from) as ORM objects (the audit seal sees them)."""
    if changes:
        db.session.add_all(PersonDepartmentHistory(person_id=p, department_id=d, active=bool(a), valid_from=at,
                                                   recorded_at=now) for p, d, a, at in changes)
        db.session.flush()


def record_import_history(plan, person_ids: dict[str, int], dept_ids: dict[str, int], now: datetime) -> None:
    """History rows for what an HR import changed: joiners, moves, leavers and re-hires (one call, few queries)."""
    changes: list[tuple[int, int, bool, datetime]] = []
    before: dict[int, tuple[int, bool]] = {}
    for row in plan.new_people:
        changes.append((person_ids[row.employee_no], dept_ids[row.department_code], row.active, now))
    current = {}
    touched = [person_ids[c.key] for c in plan.changed_people] + [person_ids[r.key] for r in plan.deactivated]
    for start in range(0, len(touched), 500):
        chunk = touched[start:start + 500]
        current.update({r.id: (r.department_id, r.active, r.created_at) for r in db.session.execute(
            select(Person.id, Person.department_id, Person.active, Person.created_at).where(Person.id.in_(chunk)))})
    for change in plan.changed_people:
        fields = {f.field: f for f in change.fields}
        if "department" not in fields and "active" not in fields:
            continue
        person_id = person_ids[change.key]
        department, active, _created = current[person_id]
        old_department = dept_ids[fields["department"].before] if "department" in fields else department
        old_active = fields["active"].before if "active" in fields else active
        before[person_id] = (old_department, bool(old_active))
        changes.append((person_id, department, active, now))
    for ref in plan.deactivated:
        person_id = person_ids[ref.key]
        department, _active, _created = current[person_id]
        before.setdefault(person_id, (department, True))
        changes.append((person_id, department, False, now))
    # Someone added outside the portal has no row yet: their state until now comes first.
    known = set(_people_with_history(list(before)))
    baselines = [(p, d, a, current[p][2]) for p, (d, a) in before.items() if p not in known]
    record_history(baselines + changes, now)


def _people_with_history(person_ids: list[int]) -> list[int]:
    found: list[int] = []
    for start in range(0, len(person_ids), 500):
        found += db.session.scalars(select(PersonDepartmentHistory.person_id).distinct().where(
            PersonDepartmentHistory.person_id.in_(person_ids[start:start + 500])))
    return found


def department_at(connection: Connection, person_id: int | None, moment: datetime | None) -> int | None:
    """The person's department at a moment: their last history row by then, else their department now."""
    if person_id is None:
        return None
    if moment is not None:
        found = connection.scalar(
            select(PersonDepartmentHistory.department_id)
            .where(PersonDepartmentHistory.person_id == person_id, PersonDepartmentHistory.valid_from <= moment)
            .order_by(PersonDepartmentHistory.valid_from.desc(), PersonDepartmentHistory.id.desc()).limit(1))
        if found is not None:
            return found
    return connection.scalar(select(Person.department_id).where(Person.id == person_id))


def _person_created(_mapper, _connection, person: Person) -> None:
    object_session(person).info.setdefault(_PENDING, []).append(person)


def _person_changed(_mapper, _connection, person: Person) -> None:
    state = inspect(person)
    if state.attrs.department_id.history.has_changes() or state.attrs.active.history.has_changes():
        object_session(person).info.setdefault(_PENDING, []).append(person)


def _after_flush(session: Session, _context) -> None:
    """Rows for people the unit of work created or changed (bulk statements write their own)."""
    people = session.info.pop(_PENDING, None)
    if not people:
        return
    now = timeutil.utcnow()
    latest = {p.id: p for p in people}  # one row per person: the state this flush left
    session.add_all(PersonDepartmentHistory(person_id=p.id, department_id=p.department_id, active=bool(p.active),
                                            valid_from=now, recorded_at=now) for p in latest.values())


def install() -> None:
    """Listen for people created or changed through the ORM (idempotent)."""
    if not event.contains(Person, "after_insert", _person_created):
        event.listen(Person, "after_insert", _person_created)
        event.listen(Person, "after_update", _person_changed)
        event.listen(Session, "after_flush_postexec", _after_flush)
