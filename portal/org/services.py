"""Syncing the organisation from HR: plan what changes, then apply it in one transaction."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select

from portal.audit.services import record_event
from portal.extensions import db
from portal.org.hr_csv import HrRow
from portal.org.models import Department, Person, PersonRole, department_managers

PERSON_FIELDS = ("name", "name_kana", "email", "active")


@dataclass
class SyncPlan:
    """What an import would change; empty when the file matches the portal."""

    new_departments: list[HrRow] = field(default_factory=list)
    changed_departments: list[tuple[str, dict]] = field(default_factory=list)
    new_people: list[HrRow] = field(default_factory=list)
    changed_people: list[tuple[str, dict]] = field(default_factory=list)
    role_changes: list[tuple[str, frozenset, frozenset]] = field(default_factory=list)
    manages_changes: list[tuple[str, tuple, tuple]] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when nothing would change."""
        return not any(
            (self.new_departments, self.changed_departments, self.new_people, self.changed_people,
             self.role_changes, self.manages_changes, self.deactivated)
        )

    def counts(self) -> dict[str, int]:
        """How many of each kind of change, for previews and the audit event."""
        return {
            "new_departments": len(self.new_departments),
            "changed_departments": len(self.changed_departments),
            "new_people": len(self.new_people),
            "changed_people": len(self.changed_people),
            "role_changes": len(self.role_changes),
            "manages_changes": len(self.manages_changes),
            "deactivated": len(self.deactivated),
        }


def known_department_codes() -> frozenset[str]:
    """Codes of departments already in the portal."""
    return frozenset(db.session.scalars(select(Department.code)))


def plan_sync(rows: list[HrRow], deactivate_missing: bool = False) -> SyncPlan:
    """Compare checked rows with the portal (a fixed few queries, whatever the size)."""
    plan = SyncPlan()
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    dept_code_by_id = {d.id: d.code for d in departments.values()}
    people = {
        p.employee_no: p
        for p in db.session.execute(
            select(Person.id, Person.employee_no, Person.name, Person.name_kana, Person.email,
                   Person.active, Person.department_id)
        )
    }
    roles: dict[int, set[str]] = {}
    for person_id, role in db.session.execute(select(PersonRole.person_id, PersonRole.role)):
        roles.setdefault(person_id, set()).add(role)
    manages: dict[int, set[str]] = {}
    for person_id, department_id in db.session.execute(select(department_managers)):
        manages.setdefault(person_id, set()).add(dept_code_by_id[department_id])

    planned_codes: set[str] = set()
    for row in rows:
        department = departments.get(row.department_code)
        if department is None and row.department_code not in planned_codes:
            plan.new_departments.append(row)
            planned_codes.add(row.department_code)
        elif department is not None and row.department_name:
            diff = {}
            if department.name_ja != row.department_name:
                diff["name_ja"] = (department.name_ja, row.department_name)
            if department.kind != row.department_kind:
                diff["kind"] = (department.kind, row.department_kind)
            if diff and row.department_code not in planned_codes:
                plan.changed_departments.append((row.department_code, diff))
                planned_codes.add(row.department_code)
        current = people.get(row.employee_no)
        if current is None:
            plan.new_people.append(row)
            continue
        diff = {name: (getattr(current, name), getattr(row, name))
                for name in PERSON_FIELDS if getattr(current, name) != getattr(row, name)}
        if dept_code_by_id.get(current.department_id) != row.department_code:
            diff["department"] = (dept_code_by_id.get(current.department_id), row.department_code)
        if diff:
            plan.changed_people.append((row.employee_no, diff))
        before_roles = frozenset(roles.get(current.id, set()) - {"employee"})
        after_roles = frozenset(row.roles - {"employee"})
        if before_roles != after_roles:
            plan.role_changes.append((row.employee_no, before_roles, after_roles))
        before_manages = tuple(sorted(manages.get(current.id, set())))
        if before_manages != tuple(sorted(row.manages)):
            plan.manages_changes.append((row.employee_no, before_manages, tuple(sorted(row.manages))))
    if deactivate_missing:
        in_file = {row.employee_no for row in rows}
        plan.deactivated = sorted(no for no, p in people.items() if p.active and no not in in_file)
    return plan


def apply_sync(actor: Person | None, rows: list[HrRow], plan: SyncPlan, source_name: str) -> None:
    """Apply a plan made from the same rows; flushes, writes audit events, never commits."""
    session = db.session
    by_no = {row.employee_no: row for row in rows}
    if plan.new_departments:
        session.execute(insert(Department), [
            {"code": r.department_code, "name_ja": r.department_name or r.department_code,
             "name_en": "", "kind": r.department_kind} for r in plan.new_departments
        ])
    for code, diff in plan.changed_departments:
        department = session.scalar(select(Department).where(Department.code == code))
        for name, (_before, after) in diff.items():
            setattr(department, name, after)
    dept_ids = dict(session.execute(select(Department.code, Department.id)).all())
    if plan.new_people:
        session.execute(insert(Person), [
            {"employee_no": r.employee_no, "name": r.name, "name_kana": r.name_kana, "email": r.email,
             "department_id": dept_ids[r.department_code], "active": r.active}
            for r in plan.new_people
        ])
    person_ids = dict(session.execute(select(Person.employee_no, Person.id)).all())
    for employee_no, diff in plan.changed_people:
        person = session.get(Person, person_ids[employee_no])
        row = by_no[employee_no]
        for name in PERSON_FIELDS:
            setattr(person, name, getattr(row, name))
        person.department_id = dept_ids[row.department_code]
        if "active" in diff and not row.active:
            person.session_version += 1
    new_nos = {r.employee_no for r in plan.new_people}
    role_rows = [(no, frozenset(), frozenset(by_no[no].roles - {"employee"})) for no in new_nos if by_no[no].roles - {"employee"}]
    for employee_no, before, after in [*plan.role_changes, *role_rows]:
        person_id = person_ids[employee_no]
        session.execute(delete(PersonRole).where(PersonRole.person_id == person_id))
        if after:
            session.execute(insert(PersonRole), [{"person_id": person_id, "role": role} for role in sorted(after)])
        record_event(actor, "org.roles_changed", object_type="person", object_id=employee_no,
                     details={"before": sorted(before), "after": sorted(after), "source": source_name})
    manage_rows = [(no, (), tuple(sorted(by_no[no].manages))) for no in new_nos if by_no[no].manages]
    for employee_no, _before, after in [*plan.manages_changes, *manage_rows]:
        person_id = person_ids[employee_no]
        session.execute(delete(department_managers).where(department_managers.c.person_id == person_id))
        if after:
            session.execute(insert(department_managers), [
                {"person_id": person_id, "department_id": dept_ids[code]} for code in after
            ])
        record_event(actor, "org.manages_changed", object_type="person", object_id=employee_no,
                     details={"before": list(_before), "after": list(after), "source": source_name})
    for employee_no in plan.deactivated:
        person = session.get(Person, person_ids[employee_no])
        person.active = False
        person.session_version += 1
    session.flush()
    session.expire_all()
    record_event(actor, "org.imported", object_type="organisation", object_id=source_name,
                 details=plan.counts())
