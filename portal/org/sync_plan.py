"""What an HR import would change, decided purely from checked rows and a snapshot of the portal."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, is_dataclass

from portal.org.hr_csv import HrRow

#: Person columns an import sets, in display order.
PERSON_FIELDS = ("name", "name_kana", "email", "department", "active")


@dataclass(frozen=True)
class DepartmentState:
    """A department as the portal holds it."""

    name_ja: str
    kind: str


@dataclass(frozen=True)
class PersonState:
    """A person as the portal holds them (department and managed departments by code)."""

    name: str
    name_kana: str
    email: str
    department: str
    active: bool
    roles: frozenset[str]
    manages: frozenset[str]


@dataclass(frozen=True)
class OrgSnapshot:
    """The whole organisation, keyed by department code and employee_no."""

    departments: dict[str, DepartmentState]
    people: dict[str, PersonState]


@dataclass(frozen=True)
class FieldChange:
    """One column of one record: before -> after."""

    field: str
    before: object
    after: object


@dataclass(frozen=True)
class Change:
    """An existing department (key: code) or person (key: employee_no) whose columns change."""

    key: str
    name: str
    fields: tuple[FieldChange, ...]

    def after(self) -> dict[str, object]:
        """The new values by column."""
        return {change.field: change.after for change in self.fields}


@dataclass(frozen=True)
class SetChange:
    """A person's roles or managed departments: before -> after (sorted)."""

    key: str
    name: str
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class PersonRef:
    """A person named in a plan."""

    key: str
    name: str


@dataclass
class SyncPlan:
    """What an import would change; empty when the file matches the portal."""

    new_departments: list[HrRow] = field(default_factory=list)
    changed_departments: list[Change] = field(default_factory=list)
    new_people: list[HrRow] = field(default_factory=list)
    changed_people: list[Change] = field(default_factory=list)
    #: Includes new people who get roles beyond employee, so a preview shows every grant.
    role_changes: list[SetChange] = field(default_factory=list)
    manages_changes: list[SetChange] = field(default_factory=list)
    #: Active people missing from the file (only with deactivate_missing).
    deactivated: list[PersonRef] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when nothing would change."""
        return not any(self.counts().values())

    def counts(self) -> dict[str, int]:
        """How many of each kind of change, for previews and the audit event."""
        return {name: len(getattr(self, name)) for name in (
            "new_departments", "changed_departments", "new_people", "changed_people",
            "role_changes", "manages_changes", "deactivated")}

    def digest(self) -> str:
        """A fingerprint of every change: equal digests mean the very same changes."""
        canonical = json.dumps(_plain(self), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _plain(value: object) -> object:
    """Dataclasses as lists of their fields, sets sorted: the same text in every process."""
    if is_dataclass(value):
        return [_plain(getattr(value, f.name)) for f in fields(value)]
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value


def own_role_changes(plan: SyncPlan, employee_no: str | None) -> list[SetChange]:
    """The plan's changes to one person's roles or managed departments (no one applies their own)."""
    if not employee_no:
        return []
    return [change for change in (*plan.role_changes, *plan.manages_changes) if change.key == employee_no]


def plan_changes(rows: list[HrRow], snapshot: OrgSnapshot, deactivate_missing: bool = False) -> SyncPlan:
    """Compare checked rows with the snapshot (pure: no database)."""
    plan = SyncPlan()
    planned_codes: set[str] = set()
    for row in rows:
        if row.department_code not in planned_codes:
            planned_codes.add(row.department_code)
            _plan_department(plan, row, snapshot.departments.get(row.department_code))
        _plan_person(plan, row, snapshot.people.get(row.employee_no))
    if deactivate_missing:
        in_file = {row.employee_no for row in rows}
        plan.deactivated = [PersonRef(no, person.name) for no, person in sorted(snapshot.people.items())
                            if person.active and no not in in_file]
    return plan


def _plan_department(plan: SyncPlan, row: HrRow, current: DepartmentState | None) -> None:
    if current is None:
        plan.new_departments.append(row)
        return
    fields = tuple(FieldChange(name, before, after) for name, before, after in (
        ("name_ja", current.name_ja, row.department_name), ("kind", current.kind, row.department_kind),
    ) if before != after)
    if fields:
        plan.changed_departments.append(Change(row.department_code, row.department_name, fields))


def _plan_person(plan: SyncPlan, row: HrRow, current: PersonState | None) -> None:
    after_roles = tuple(sorted(row.roles - {"employee"}))
    after_manages = tuple(sorted(row.manages))
    if current is None:
        plan.new_people.append(row)
        before_roles: tuple[str, ...] = ()
        before_manages: tuple[str, ...] = ()
    else:
        wanted = {"name": row.name, "name_kana": row.name_kana, "email": row.email,
                  "department": row.department_code, "active": row.active}
        fields = tuple(FieldChange(name, getattr(current, name), wanted[name])
                       for name in PERSON_FIELDS if getattr(current, name) != wanted[name])
        if fields:
            plan.changed_people.append(Change(row.employee_no, row.name, fields))
        before_roles = tuple(sorted(current.roles - {"employee"}))
        before_manages = tuple(sorted(current.manages))
    if before_roles != after_roles:
        plan.role_changes.append(SetChange(row.employee_no, row.name, before_roles, after_roles))
    if before_manages != after_manages:
        plan.manages_changes.append(SetChange(row.employee_no, row.name, before_manages, after_manages))
