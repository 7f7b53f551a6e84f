"""Departments over their cap that no override explains: HR changes shrank them below what their holders allow.

Nobody's grant is taken away for it; the grant owners of the system and the compliance team
(PORTAL_COMPLIANCE_MAIL, when set) get one message per excess, naming the department and how many
people too many hold a grant in force, and the coverage page shows it until the department is
back within its cap.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from portal.access.cap import cap_specs, headcounts, holders, lock_department
from portal.access.cap_rules import unexplained_excess
from portal.access.control_models import CapExcess
from portal.access.models import ProtectedSystem
from portal.approvals.notices import portal_link, queue_mail_on_commit, queue_notices
from portal.audit.services import record_event
from portal.core.mail import render_mail
from portal.extensions import db
from portal.org.models import Department


def open_excesses(system_id: int) -> dict[int, CapExcess]:
    """{department: its open excess} for one system."""
    return {row.department_id: row for row in db.session.scalars(select(CapExcess).where(
        CapExcess.system_id == system_id, CapExcess.closed_at.is_(None)))}


def check_excesses(system_ids, now: datetime) -> int:
    """Open an excess (one message) where a capped department is over; close those back within; returns opened."""
    specs = cap_specs(system_ids)
    open_rows = {(r.system_id, r.department_id): r for r in db.session.scalars(select(CapExcess).where(
        CapExcess.system_id.in_(list(system_ids)), CapExcess.closed_at.is_(None)))}
    if not specs and not open_rows:
        return 0
    departments = {d for _, d in specs} | {d for _, d in open_rows}
    counts = headcounts(departments)
    held = holders(system_ids, departments)
    opened = 0
    for key in sorted(set(specs) | set(open_rows)):
        spec = specs.get(key)
        headcount = counts.get(key[1], 0)
        limit = spec.limit(headcount) if spec is not None else None
        figures = held[key]
        excess = unexplained_excess(limit, figures.in_force, figures.overridden)
        if excess > 0 and key not in open_rows:
            lock_department(*key)
            if db.session.scalar(select(CapExcess.id).where(CapExcess.system_id == key[0], CapExcess.department_id
                                                            == key[1], CapExcess.closed_at.is_(None))) is None:
                _open(key, headcount, limit, figures, excess, now)
                opened += 1
        elif excess == 0 and key in open_rows:
            row = open_rows[key]
            row.closed_at = now
            db.session.flush()
            record_event(None, "access.cap_excess_closed", object_type="protected_system",
                         object_id=db.session.get(ProtectedSystem, key[0]).code,
                         details={"department": db.session.get(Department, key[1]).code,
                                  "opened_at": row.opened_at.isoformat()})
    return opened


def _open(key, headcount: int, limit: int, figures, excess: int, now: datetime) -> None:
    system = db.session.get(ProtectedSystem, key[0])
    department = db.session.get(Department, key[1])
    row = CapExcess(system_id=key[0], department_id=key[1], opened_at=now, headcount=headcount, cap_limit=limit,
                    in_force=figures.in_force, overridden=figures.overridden, excess=excess)
    db.session.add(row)
    db.session.flush()
    record_event(None, "access.cap_exceeded", object_type="protected_system", object_id=system.code,
                 details={"department": department.code, "headcount": headcount, "limit": limit,
                          "in_force": figures.in_force, "overridden": figures.overridden, "excess": excess})
    _tell(system, department, row)


def _tell(system: ProtectedSystem, department: Department, row: CapExcess) -> None:
    """One message to each grant owner of the system and to the compliance address."""
    link = portal_link(f"/access/coverage?system={system.code}")
    queue_notices(system.grant_owners, "access/mail/cap_excess", system=system, department=department, excess=row,
                  link=link)
    address = (current_app.config.get("PORTAL_COMPLIANCE_MAIL") or "").strip()
    if address:
        queue_mail_on_commit(render_mail(
            "access/mail/cap_excess.ja.txt", to=address, person=None, system=system, department=department,
            excess=row, link=link))
