"""Changing the organisation: syncing from HR in one transaction, and role changes by admins."""
from __future__ import annotations

import hashlib
from typing import Callable, Iterable

from sqlalchemy import delete, insert, select, text, update

from portal.audit.services import record_event
from portal.core import signals
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.history import record_import_history
from portal.org.models import ROLES, Department, Person, PersonRole, department_managers
from portal.org.sync_plan import (
    DepartmentState,
    OrgSnapshot,
    PersonState,
    SyncPlan,
    own_role_changes,
    plan_changes,
)

# Any constant; serialises organisation changes on PostgreSQL (import vs import, import vs role edit).
_PG_ORG_LOCK = 7243002
_CHUNK = 500


class RoleChangeRefused(Refusal):
    """A role change that must not happen (`code`, and the form `field` it concerns): the import page
    catches only these."""


def lock_organisation() -> None:
    """Hold the organisation lock until the transaction ends (PostgreSQL; SQLite serialises writers)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_ORG_LOCK})


def known_department_codes() -> frozenset[str]:
    """Codes of departments already in the portal."""
    return frozenset(db.session.scalars(select(Department.code)))


def load_snapshot() -> OrgSnapshot:
    """The whole organisation in four queries, whatever its size."""
    session = db.session
    departments, code_by_id = {}, {}
    for dept_id, code, name_ja, kind in session.execute(select(Department.id, Department.code, Department.name_ja,
                                                               Department.kind)):
        departments[code] = DepartmentState(name_ja, kind)
        code_by_id[dept_id] = code
    roles: dict[int, set[str]] = {}
    for person_id, role in session.execute(select(PersonRole.person_id, PersonRole.role)):
        roles.setdefault(person_id, set()).add(role)
    manages: dict[int, set[str]] = {}
    for person_id, department_id in session.execute(select(department_managers.c.person_id,
                                                           department_managers.c.department_id)):
        manages.setdefault(person_id, set()).add(code_by_id[department_id])
    people = {
        p.employee_no: PersonState(p.name, p.name_kana, p.email, code_by_id[p.department_id], p.active,
                                   frozenset(roles.get(p.id, ())), frozenset(manages.get(p.id, ())))
        for p in session.execute(select(Person.id, Person.employee_no, Person.name, Person.name_kana,
                                        Person.email, Person.active, Person.department_id))
    }
    return OrgSnapshot(departments, people)


def plan_sync(rows, deactivate_missing: bool = False) -> SyncPlan:
    """What importing these checked rows would change now."""
    return plan_changes(rows, load_snapshot(), deactivate_missing)


def _chunks(values: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def apply_sync(actor: Person | None, plan: SyncPlan, source_name: str, details: dict | None = None,
               progress: Callable[[int], None] | None = None) -> None:
    """Apply a plan made in this transaction; flushes, writes audit events, never commits.

    Raises RoleChangeRefused("own_roles") when the plan changes the acting person's own roles or
    managed departments: another administrator must apply that file. `progress(done)` hears how
    many of the plan's changes are written so far (a job shows it; it must not commit).
    """
    if actor is not None and own_role_changes(plan, actor.employee_no):
        raise RoleChangeRefused("own_roles", "roles")
    counts, done = plan.counts(), 0

    def written(*names: str) -> None:
        nonlocal done
        done += sum(counts[name] for name in names)
        if progress is not None:
            progress(done)

    session, now = db.session, utcnow()
    source = source_name[:80]
    if plan.new_departments:
        session.execute(insert(Department), [
            {"code": r.department_code, "name_ja": r.department_name, "name_en": "", "kind": r.department_kind,
             "created_at": now} for r in plan.new_departments])
    dept_ids = dict(session.execute(select(Department.code, Department.id)).all())
    if plan.changed_departments:
        session.execute(update(Department), [{"id": dept_ids[c.key], **c.after()} for c in plan.changed_departments])
    written("new_departments", "changed_departments")
    if plan.new_people:
        session.execute(insert(Person), [
            {"employee_no": r.employee_no, "name": r.name, "name_kana": r.name_kana, "email": r.email,
             "department_id": dept_ids[r.department_code], "active": r.active, "created_at": now, "updated_at": now}
            for r in plan.new_people])
    written("new_people")
    person_ids = dict(session.execute(select(Person.employee_no, Person.id)).all())
    if plan.changed_people:
        session.execute(update(Person), [_person_values(person_ids[c.key], c.after(), dept_ids, now)
                                         for c in plan.changed_people])
    # Deactivation, by the file or by absence from it, ends every session of that person.
    ended = [person_ids[c.key] for c in plan.changed_people if c.after().get("active") is False]
    ended += [person_ids[ref.key] for ref in plan.deactivated]
    for ids in _chunks(ended):
        session.execute(update(Person).where(Person.id.in_(ids))
                        .values(active=False, session_version=Person.session_version + 1, updated_at=now))
    record_import_history(plan, person_ids, dept_ids, now)  # joiners, moves, leavers, re-hires: past figures stay
    written("changed_people", "deactivated")
    _replace_roles(actor, plan, person_ids, source)
    _replace_manages(actor, plan, person_ids, dept_ids, source)
    written("role_changes", "manages_changes")
    session.flush()
    session.expire_all()  # bulk statements bypass the identity map
    # Manuals re-assign joiners, movers and leavers; access then suspends or resumes their grants.
    signals.people_changed.send("org", person_ids=None, now=now)
    record_event(actor, "org.imported", object_type="organisation", object_id=source,
                 details={**(details or {}), "file": source_name, **plan.counts(),
                          "deactivated_people": [ref.key for ref in plan.deactivated]})


def _person_values(person_id: int, after: dict, dept_ids: dict, now) -> dict:
    values = {"id": person_id, "updated_at": now, **after}
    if "department" in values:
        values["department_id"] = dept_ids[values.pop("department")]
    return values


def _replace_roles(actor, plan: SyncPlan, person_ids: dict, source: str) -> None:
    ids = [person_ids[c.key] for c in plan.role_changes]
    for chunk in _chunks(ids):
        db.session.execute(delete(PersonRole).where(PersonRole.person_id.in_(chunk)))
    rows = [{"person_id": person_ids[c.key], "role": role} for c in plan.role_changes for role in c.after]
    if rows:
        db.session.execute(insert(PersonRole), rows)
    for change in plan.role_changes:
        record_event(actor, "org.roles_changed", object_type="person", object_id=change.key,
                     details={"before": list(change.before), "after": list(change.after), "import": source})


def _replace_manages(actor, plan: SyncPlan, person_ids: dict, dept_ids: dict, source: str) -> None:
    ids = [person_ids[c.key] for c in plan.manages_changes]
    for chunk in _chunks(ids):
        db.session.execute(delete(department_managers).where(department_managers.c.person_id.in_(chunk)))
    rows = [{"person_id": person_ids[c.key], "department_id": dept_ids[code]}
            for c in plan.manages_changes for code in c.after]
    if rows:
        db.session.execute(insert(department_managers), rows)
    for change in plan.manages_changes:
        record_event(actor, "org.manages_changed", object_type="person", object_id=change.key,
                     details={"before": list(change.before), "after": list(change.after), "import": source})


def role_state(person: Person) -> str:
    """A short fingerprint of a person's roles and managed departments, to detect concurrent edits."""
    text_form = ",".join(sorted(person.roles)) + "|" + ",".join(sorted(d.code for d in person.managed_departments))
    return hashlib.sha256(text_form.encode("utf-8")).hexdigest()[:16]


def change_roles(actor: Person, person: Person, roles: Iterable[str], managed_department_ids: Iterable[int],
                 reason: str, expected_state: str | None = None) -> bool:
    """Set a person's roles and managed departments with a reason; False when nothing changed.

    Raises RoleChangeRefused: own_roles, unknown_role, manages_without_manager, unknown_department,
    reason_required, stale (someone changed them since the form was shown).
    """
    if actor.id == person.id:
        raise RoleChangeRefused("own_roles", "roles")
    reason = " ".join(reason.split())  # one line: no CR/LF can forge lines in logs or exports
    if not reason:
        raise RoleChangeRefused("reason_required", "reason")
    wanted_roles = frozenset(roles) - {"employee"}
    if not wanted_roles <= set(ROLES):
        raise RoleChangeRefused("unknown_role", "roles")
    wanted_ids = set(managed_department_ids)
    if wanted_ids and "manager" not in wanted_roles:
        raise RoleChangeRefused("manages_without_manager", "managed")
    lock_organisation()
    departments = (db.session.scalars(select(Department).where(Department.id.in_(wanted_ids))).all()
                   if wanted_ids else [])
    if len(departments) != len(wanted_ids):
        raise RoleChangeRefused("unknown_department", "managed")
    db.session.refresh(person)  # decide on the committed state, after taking the lock
    if expected_state is not None and expected_state != role_state(person):
        raise RoleChangeRefused("stale", "roles")
    before_roles = sorted(person.roles - {"employee"})
    before_codes = sorted(d.code for d in person.managed_departments)
    after_codes = sorted(d.code for d in departments)
    if before_roles == sorted(wanted_roles) and before_codes == after_codes:
        return False
    if before_roles != sorted(wanted_roles):
        person.role_rows = [row for row in person.role_rows if row.role in wanted_roles] + [
            PersonRole(role=role) for role in sorted(wanted_roles - set(before_roles))]
        record_event(actor, "org.roles_changed", object_type="person", object_id=person.employee_no, reason=reason,
                     details={"before": before_roles, "after": sorted(wanted_roles)})
    if before_codes != after_codes:
        person.managed_departments = sorted(departments, key=lambda d: d.code)
        record_event(actor, "org.manages_changed", object_type="person", object_id=person.employee_no,
                     reason=reason, details={"before": before_codes, "after": after_codes})
    person.updated_at = utcnow()
    db.session.flush()
    # A role audience (e.g. managers) follows the new roles at once, and so do the person's grants.
    signals.people_changed.send("org", person_ids=[person.id], now=None)
    return True
