"""Reads behind the organisation pages: a fixed few queries per page, scoped to what the viewer may see."""
from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from portal.core.sql import id_filter
from portal.extensions import db
from portal.org.models import Department, Person, PersonRole

#: Roles that see every person and department; a manager sees only the departments they manage.
FULL_VIEW_ROLES = ("admin", "training_admin", "auditor")
PAGE_SIZE = 50


def visible_department_ids(viewer: Person) -> list[int] | None:
    """None when the viewer sees every department, else the ids of the departments they manage."""
    if viewer.has_role(*FULL_VIEW_ROLES):
        return None
    if viewer.has_role("manager"):
        return [department.id for department in viewer.managed_departments]
    return []


@dataclass(frozen=True)
class PeopleFilter:
    """What the people list is narrowed to."""

    text: str = ""
    department_id: int | None = None
    status: str = "all"


@dataclass
class PeoplePage:
    """One page of the people list."""

    rows: list = field(default_factory=list)
    roles: dict[int, list[str]] = field(default_factory=dict)
    total: int = 0
    page: int = 1
    pages: int = 1


_HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097))
_KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7))
_TO_KATAKANA = str.maketrans(_HIRAGANA, _KATAKANA)
_TO_HIRAGANA = str.maketrans(_KATAKANA, _HIRAGANA)
# Full-width ASCII (ＡＢＣ１２３) typed into the search box; names are never normalised (﨑 must stay 﨑).
_FULLWIDTH_ASCII = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})


def search_variants(text: str) -> set[str]:
    """The search text as typed, in hiragana, in katakana, and with full-width ASCII made narrow."""
    text = text.strip()
    return {variant for variant in (text, text.translate(_TO_KATAKANA), text.translate(_TO_HIRAGANA),
                                    text.translate(_FULLWIDTH_ASCII)) if variant}


def _people_statement(viewer: Person, wanted: PeopleFilter):
    statement = select(Person.id).join(Department, Person.department_id == Department.id)
    scope = visible_department_ids(viewer)
    if scope is not None:
        statement = statement.where(Person.department_id.in_(scope))
    if wanted.department_id is not None:
        statement = statement.where(Person.department_id == wanted.department_id)
    if wanted.status != "all":
        statement = statement.where(Person.active.is_(wanted.status == "active"))
    if wanted.text.strip():
        statement = statement.where(or_(*(
            column.contains(variant, autoescape=True)
            for variant in search_variants(wanted.text)
            for column in (Person.name, Person.name_kana, Person.employee_no))))
    return statement


def people_page(viewer: Person, wanted: PeopleFilter, page: int = 1) -> PeoplePage:
    """People the viewer may see, by kana reading, one page (three queries)."""
    base = _people_statement(viewer, wanted)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        base.with_only_columns(Person.id, Person.employee_no, Person.name, Person.name_kana, Person.active,
                               Department.code.label("department_code"), Department.name_ja.label("department_name_ja"),
                               Department.name_en.label("department_name_en"))
        # Empty readings last; employee_no breaks ties between people with the same reading.
        .order_by((Person.name_kana == "").asc(), Person.name_kana, Person.employee_no)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    roles: dict[int, list[str]] = {}
    if rows:
        for person_id, role in db.session.execute(
            select(PersonRole.person_id, PersonRole.role)
            .where(PersonRole.person_id.in_([row.id for row in rows])).order_by(PersonRole.role)
        ):
            roles.setdefault(person_id, []).append(role)
    return PeoplePage(rows=rows, roles=roles, total=total, page=page, pages=pages)


def person_for_viewer(viewer: Person, person_id: int) -> Person | None:
    """The person, or None when they do not exist or the viewer may not see them (both become 404)."""
    statement = select(Person).where(Person.id == person_id)
    scope = visible_department_ids(viewer)
    if scope is not None:
        statement = statement.where(Person.department_id.in_(scope))
    return db.session.scalar(statement)


def department_choices(viewer: Person) -> list[Department]:
    """Departments the viewer may filter by, by code."""
    statement = select(Department).order_by(Department.code)
    scope = visible_department_ids(viewer)
    if scope is not None:
        statement = statement.where(Department.id.in_(scope))
    return list(db.session.scalars(statement))


def departments_overview() -> list:
    """Every department with its parent and active headcount, in one query."""
    headcount = (select(Person.department_id, func.count(Person.id).label("headcount"))
                 .where(Person.active.is_(True)).group_by(Person.department_id).subquery())
    parent = aliased(Department)
    return db.session.execute(
        select(Department, parent.code.label("parent_code"), parent.name_ja.label("parent_name_ja"),
               parent.name_en.label("parent_name_en"), func.coalesce(headcount.c.headcount, 0).label("headcount"))
        .outerjoin(parent, Department.parent_id == parent.id)
        .outerjoin(headcount, headcount.c.department_id == Department.id)
        .order_by(Department.kind, Department.code)
    ).all()


def departments_by_id(department_ids: Collection[int] | None) -> dict[int, Department]:
    """Departments by id (None: all), ordered by code (one query)."""
    stmt = select(Department).order_by(Department.code)
    if department_ids is not None:
        if not department_ids:
            return {}
        stmt = stmt.where(id_filter(Department.id, department_ids))
    return {department.id: department for department in db.session.scalars(stmt)}
