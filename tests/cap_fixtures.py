"""Helpers for the standing-cap and history tests: HR imports of a few people, caps, grants in any state."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from portal.access.cap import cap_specs, headcounts, holders
from portal.access.cap_rules import parse_cap_value, unexplained_excess
from portal.access.control_models import CapExcess
from portal.access.models import AccessDecision, AccessGrant, ProtectedSystem
from portal.access.services import GrantDecision, decide_approval, decide_grant, request_access
from portal.access.systems import set_department_caps
from portal.extensions import db
from portal.org.hr_csv import HrRow
from portal.org.models import Department, Person
from portal.org.services import apply_sync, plan_sync
from tests.access_fixtures import EXPLANATION, PURPOSES


def hr_row(person: Person, line: int, department: Department | None = None, active: bool | None = None) -> HrRow:
    """The HR file's row for a person as they are, moved to `department` and/or (in)active."""
    db.session.refresh(person)
    dept = department or person.department
    return HrRow(line=line, employee_no=person.employee_no, name=person.name, name_kana=person.name_kana,
                 email=person.email, department_code=dept.code, department_name=dept.name_ja,
                 department_kind=dept.kind, roles=frozenset(person.roles - {"employee"}),
                 manages=tuple(sorted(d.code for d in person.managed_departments)),
                 active=person.active if active is None else active)


def hr_import(*changes: tuple[Person, Department | None, bool | None]) -> None:
    """An HR import of these people: (person, new department or None, active or None); commits."""
    rows = [hr_row(person, line, department, active) for line, (person, department, active) in enumerate(changes, 2)]
    apply_sync(None, plan_sync(rows), "hr.csv")
    db.session.commit()


def set_caps(world, actor=None, **caps: str) -> None:
    """Caps as the form writes them: set_caps(world, **{"CUST-FRONT": "2人"}); commits."""
    set_department_caps(actor or world.owner, world.system, {code: parse_cap_value(v) for code, v in caps.items()},
                        reason="上限の見直し")
    db.session.commit()


def grant_request(world, person: Person, *, override: bool = False, days: int = 90, owner=None,
                  approver=None) -> AccessGrant:
    """Request → approval → the grant owner's grant, whatever the cap makes of it (in force or waiting); commits."""
    request = request_access(person, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(approver or world.manager, request, True, "業務上必要と確認")
    outcome = decide_grant(owner or world.owner, request,
                           GrantDecision(True, "研修修了を確認", days=days, override_cap=override))
    db.session.commit()
    assert outcome.grant is not None, outcome.refused_reasons
    return outcome.grant


def state(grant: AccessGrant) -> str:
    """The grant's stored state, read again."""
    return db.session.scalar(select(AccessGrant.state).where(AccessGrant.id == grant.id))


def decision(world, person: Person) -> tuple[bool, list[str]]:
    """The stored decision for the person: (allow, reasons)."""
    row = db.session.get(AccessDecision, (world.system.id, person.id))
    db.session.refresh(row)
    return row.allow, json.loads(row.reasons_json)


def over_cap_without_record(system_ids=None) -> list[tuple[int, int, int]]:
    """(system, department, excess) of departments over their cap that no override nor open excess explains."""
    system_ids = system_ids or list(db.session.scalars(select(ProtectedSystem.id)))
    specs = cap_specs(system_ids)
    counts = headcounts({d for _, d in specs})
    held = holders(system_ids, {d for _, d in specs})
    recorded = set(db.session.execute(select(CapExcess.system_id, CapExcess.department_id)
                                      .where(CapExcess.closed_at.is_(None))).all())
    found = []
    for key, spec in specs.items():
        excess = unexplained_excess(spec.limit(counts.get(key[1], 0)), held[key].in_force, held[key].overridden)
        if excess and key not in recorded:
            found.append((*key, excess))
    return found


def in_force_count(world, department: Department) -> int:
    """People of the department holding a grant of the world's system in force now."""
    return db.session.scalar(select(func.count(func.distinct(AccessGrant.person_id))).where(
        AccessGrant.system_id == world.system.id, AccessGrant.department_id == department.id,
        AccessGrant.state == "in_force"))
