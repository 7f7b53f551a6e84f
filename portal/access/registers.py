"""The grant register auditors ask for: every grant with who, where, why, by whom, when and its state now.

One row per grant, from plain columns (one query per page, batches for exports): the person and
their department when the grant was made (from its "granted" step), the purpose and explanation,
the approving manager and the granting owner with their reasons, the dates, the state as of now
(the clock applied) and any suspension, override or revocation.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from portal.access.cap_rules import effective_state_sql
from portal.access.models import AccessEvent, AccessGrant, AccessRequest, ProtectedSystem
from portal.audit.criteria import jst_day_end, jst_day_start
from portal.extensions import db
from portal.org.models import Department, Person

PAGE_SIZE = 50


@dataclass(frozen=True)
class GrantFilters:
    """What the register shows: systems the viewer may read, granted between two Japan-time days, a state."""

    system_ids: tuple[int, ...]
    granted_from: date | None = None
    granted_to: date | None = None
    state: str = ""
    employee_no: str = ""


def _statement(filters: GrantFilters, now: datetime) -> Select:
    approver, granter, revoker = aliased(Person), aliased(Person), aliased(Person)
    then = aliased(Department)
    granted = (select(AccessEvent.grant_id, func.min(AccessEvent.department_id).label("department_id"))
               .where(AccessEvent.kind == "granted").group_by(AccessEvent.grant_id).subquery())
    state = effective_state_sql(AccessGrant.state, AccessGrant.expires_at, now).label("state_now")
    stmt = (
        select(AccessGrant.id, ProtectedSystem.code.label("system_code"), ProtectedSystem.name_ja.label("system_name"),
               Person.employee_no, Person.name, then.code.label("department_code"),
               then.name_ja.label("department_name"), AccessRequest.purpose, AccessRequest.explanation,
               AccessRequest.requested_at, approver.employee_no.label("approver_no"),
               approver.name.label("approver_name"), AccessRequest.approved_at, AccessRequest.approval_reason,
               granter.employee_no.label("granter_no"), granter.name.label("granter_name"), AccessGrant.granted_at,
               AccessRequest.decision_reason, AccessGrant.expires_at, state, AccessGrant.suspension_json,
               AccessGrant.cap_overridden, AccessGrant.revoked_at, revoker.employee_no.label("revoker_no"),
               revoker.name.label("revoker_name"), AccessGrant.revoke_reason)
        .join(ProtectedSystem, ProtectedSystem.id == AccessGrant.system_id)
        .join(AccessRequest, AccessRequest.id == AccessGrant.request_id)
        .join(Person, Person.id == AccessGrant.person_id)
        .join(granter, granter.id == AccessGrant.granted_by_id)
        .outerjoin(approver, approver.id == AccessRequest.approver_id)
        .outerjoin(revoker, revoker.id == AccessGrant.revoked_by_id)
        .outerjoin(granted, granted.c.grant_id == AccessGrant.id)
        .outerjoin(then, then.id == granted.c.department_id)
        .where(AccessGrant.system_id.in_(filters.system_ids or (-1,)))
    )
    if filters.granted_from:
        stmt = stmt.where(AccessGrant.granted_at >= jst_day_start(filters.granted_from))
    if filters.granted_to:
        stmt = stmt.where(AccessGrant.granted_at < jst_day_end(filters.granted_to))
    if filters.state:
        stmt = stmt.where(effective_state_sql(AccessGrant.state, AccessGrant.expires_at, now) == filters.state)
    if filters.employee_no:
        stmt = stmt.where(Person.employee_no == filters.employee_no)
    return stmt


def grant_page(filters: GrantFilters, page: int, now: datetime) -> tuple[list, int]:
    """(one page of grants, newest first; how many match)."""
    stmt = _statement(filters, now)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(stmt.order_by(AccessGrant.id.desc()).offset((page - 1) * PAGE_SIZE)
                              .limit(PAGE_SIZE)).all()
    return rows, total


def iter_grant_rows(filters: GrantFilters, now: datetime, batch: int = 1000) -> Iterator:
    """Every matching grant, oldest first, read in keyset batches."""
    last = 0
    while True:
        rows = db.session.execute(_statement(filters, now).where(AccessGrant.id > last)
                                  .order_by(AccessGrant.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def suspension_codes_of(row) -> list[str]:
    """The reason codes of a row's suspension."""
    return json.loads(row.suspension_json or "[]")
