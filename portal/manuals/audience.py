"""Who a manual is for: audience rules as one SQL selection of people, and checks against the organisation."""
from __future__ import annotations

from sqlalchemy import Select, and_, exists, false, or_, select

from portal.extensions import db
from portal.manuals.problems import Problem
from portal.manuals.sources import ManualSource
from portal.org.models import DEPARTMENT_KINDS, ROLES, Department, Person, PersonRole


def audience_condition(audience: dict):
    """A WHERE clause over Person (joined to Department) for an audience rule; active people only."""
    if audience.get("everyone") or "employee" in audience.get("roles", []):
        return Person.active.is_(True)
    clauses = []
    if audience.get("departments"):
        clauses.append(Department.code.in_(audience["departments"]))
    if audience.get("kinds"):
        clauses.append(Department.kind.in_(audience["kinds"]))
    if audience.get("roles"):
        clauses.append(exists().where(and_(PersonRole.person_id == Person.id,
                                           PersonRole.role.in_(audience["roles"]))))
    return and_(Person.active.is_(True), or_(*clauses) if clauses else false())


def audience_people(audience: dict) -> Select:
    """SELECT people.id of everyone the rule covers (to use in INSERT … SELECT or IN)."""
    return (select(Person.id)
            .join(Department, Department.id == Person.department_id)
            .where(audience_condition(audience)))


def audience_problems(sources: list[ManualSource]) -> list[Problem]:
    """Department codes, kinds and roles the organisation does not know, naming the file and line."""
    known = frozenset(db.session.scalars(select(Department.code)))
    problems = []
    for source in sources:
        for (name, value), line in sorted(source.audience_lines.items(), key=lambda item: item[1] or 0):
            unknown = (
                (name == "departments" and value not in known)
                or (name == "kinds" and value not in DEPARTMENT_KINDS)
                or (name == "roles" and value not in ROLES)
            )
            if unknown:
                code = {"departments": "unknown_department", "kinds": "unknown_kind", "roles": "unknown_role"}[name]
                problems.append(Problem(source.file, line, code, {"value": value}))
    return problems
