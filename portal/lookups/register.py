"""The look-up register auditors ask for: every look-up the viewer oversees, by dates, paged and exportable.

Status filters and cells apply the clock (a waiting request past its expiry is expired, as the
pages say). Exports read plain columns in keyset batches: what was asked, by whom and in which
department at the time, who approved, took and answered it, and when.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import aliased

from portal.access.models import ProtectedSystem
from portal.extensions import db
from portal.lookups import rules
from portal.lookups.models import LookupRequest
from portal.org.models import Department, Person

PAGE_SIZE = 50


@dataclass(frozen=True)
class RegisterFilters:
    """Status (as of now), the department at the time, and the Japan-time days it was asked on."""

    status: str = ""
    department_id: int | None = None
    asked_from: date | None = None
    asked_to: date | None = None


def status_now(now: datetime):
    """effective_status as SQL: a waiting request past its expiry is expired."""
    return case((and_(LookupRequest.status.in_(rules.WAITING), LookupRequest.expires_at <= now), "expired"),
                else_=LookupRequest.status)


def _scoped(query: Select, scope: set[int] | None, filters: RegisterFilters, now: datetime) -> Select:
    if scope is not None:
        managed = scope or {-1}
        requester = aliased(Person)
        query = query.join(requester, requester.id == LookupRequest.requester_id).where(
            LookupRequest.department_id.in_(managed) | requester.department_id.in_(managed))
    if filters.status:
        query = query.where(status_now(now) == filters.status)
    if filters.department_id is not None:
        query = query.where(LookupRequest.department_id == filters.department_id)
    if filters.asked_from is not None:
        query = query.where(LookupRequest.requested_at >= rules.jst_day_range(filters.asked_from,
                                                                              filters.asked_from)[0])
    if filters.asked_to is not None:
        query = query.where(LookupRequest.requested_at < rules.jst_day_range(filters.asked_to, filters.asked_to)[1])
    return query


def register_page(scope: set[int] | None, filters: RegisterFilters, page: int, now: datetime) -> tuple[list, int]:
    """(one page of look-ups, newest first; how many match)."""
    query = _scoped(select(LookupRequest), scope, filters, now)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(db.session.scalars(query.order_by(LookupRequest.id.desc()).offset((page - 1) * PAGE_SIZE)
                                    .limit(PAGE_SIZE)))
    return items, total


def _export_statement(scope: set[int] | None, filters: RegisterFilters, now: datetime) -> Select:
    requester, approver, handler = aliased(Person), aliased(Person), aliased(Person)
    return _scoped(
        select(LookupRequest.id, LookupRequest.requested_at, requester.employee_no.label("requester_no"),
               requester.name.label("requester_name"), Department.code.label("department_code"),
               Department.name_ja.label("department_name"), ProtectedSystem.code.label("system_code"),
               LookupRequest.purpose, LookupRequest.explanation, LookupRequest.question, LookupRequest.reference,
               status_now(now).label("status_now"), approver.employee_no.label("approver_no"),
               approver.name.label("approver_name"), LookupRequest.decided_at, LookupRequest.decision_reason,
               handler.employee_no.label("handler_no"), handler.name.label("handler_name"), LookupRequest.taken_at,
               LookupRequest.checked, LookupRequest.answer, LookupRequest.answered_at, LookupRequest.closed_at)
        .join(requester, requester.id == LookupRequest.requester_id)
        .join(Department, Department.id == LookupRequest.department_id)
        .join(ProtectedSystem, ProtectedSystem.id == LookupRequest.system_id)
        .outerjoin(approver, approver.id == LookupRequest.approver_id)
        .outerjoin(handler, handler.id == LookupRequest.handler_id), scope, filters, now)


def iter_register_rows(scope: set[int] | None, filters: RegisterFilters, now: datetime, batch: int = 1000) -> Iterator:
    """Every matching look-up, oldest first, in keyset batches."""
    last = 0
    while True:
        rows = db.session.execute(_export_statement(scope, filters, now).where(LookupRequest.id > last)
                                  .order_by(LookupRequest.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
