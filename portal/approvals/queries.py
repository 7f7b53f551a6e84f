"""Who approves a person's requests (access and look-ups alike)."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.org.models import Department, Person, department_managers

#: How far up the department tree to look for an approver when a department's only manager asks.
MAX_DEPTH = 6


def approver_ids_for(person: Person) -> set[int]:
    """Managers who may approve this person's requests: their department's, else the nearest parent's."""
    department_id = person.department_id
    for _ in range(MAX_DEPTH):
        managers = set(db.session.scalars(select(department_managers.c.person_id).join(
            Person, Person.id == department_managers.c.person_id).where(
            department_managers.c.department_id == department_id, Person.active.is_(True))))
        managers.discard(person.id)
        if managers:
            return managers
        department_id = db.session.scalar(select(Department.parent_id).where(Department.id == department_id))
        if department_id is None:
            return set()
    return set()


def people_with_ids(ids) -> list[Person]:
    """The people with these ids (none asked, none read)."""
    ids = list(ids)
    return list(db.session.scalars(select(Person).where(Person.id.in_(ids)))) if ids else []
