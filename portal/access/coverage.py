"""The coverage report: per department, people with a grant in force / headcount, at any date.

Past states come from the grant history (access_events, never deleted): a grant was in force at
T when its last state-changing step at or before T left it in force. Two approximations, both
shown on the page: a person counts in the department they belong to now, and the headcount at T
counts people created by T who are active now or whose record changed after T (HR sync bumps
updated_at when it deactivates someone).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select

from portal.access.decision import end_of_day_jst
from portal.access.models import AccessDecision, AccessEvent, AccessGrant, DepartmentCap, ProtectedSystem
from portal.access.refresh import refresh_access_decisions
from portal.access.rules import cap_limit
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Department, Person


@dataclass(frozen=True)
class CoverageCell:
    """People with a grant in force and headcount of one department at one moment."""

    in_force: int
    headcount: int

    @property
    def percent(self) -> float | None:
        """Share in force, in percent (None for an empty department)."""
        return round(100 * self.in_force / self.headcount, 1) if self.headcount else None


@dataclass(frozen=True)
class CoverageRow:
    """One department (or the total) at the two dates, with its cap."""

    code: str
    name_ja: str
    name_en: str
    cap_percent: int | None
    before: CoverageCell | None
    after: CoverageCell

    @property
    def change_points(self) -> float | None:
        """Change of the share in percentage points between the dates."""
        if self.before is None or self.before.percent is None or self.after.percent is None:
            return None
        return round(self.after.percent - self.before.percent, 1)

    @property
    def cap_limit(self) -> int | None:
        """How many may hold a grant in force under the cap today."""
        return None if self.cap_percent is None else cap_limit(self.after.headcount, self.cap_percent)

    def name(self, locale: str) -> str:
        """Department name in the viewer's language."""
        return self.name_en if locale == "en" and self.name_en else self.name_ja


def moment_of(day: date, now: datetime) -> datetime:
    """The end of a Japan-time day (exclusive), or just after now when that day has not ended yet."""
    return min(end_of_day_jst(day), now + timedelta(microseconds=1))


def catch_up(now: datetime | None = None) -> int:
    """Record time-based changes (expiry, due dates, deadlines) that have passed but were not yet seen."""
    now = now or utcnow()
    stale = db.session.scalars(select(AccessDecision.person_id).where(AccessDecision.recheck_at <= now)).all()
    return refresh_access_decisions(stale, now=now) if stale else 0


def in_force_by_department(system_id: int, at: datetime) -> dict[int, int]:
    """{department id: people with a grant of the system in force at `at`} (one query)."""
    ranked = (
        select(AccessEvent.grant_id, AccessEvent.state_after,
               func.row_number().over(partition_by=AccessEvent.grant_id,
                                      order_by=(AccessEvent.occurred_at.desc(), AccessEvent.id.desc())).label("rn"))
        .join(AccessGrant, AccessGrant.id == AccessEvent.grant_id)
        .where(AccessGrant.system_id == system_id, AccessEvent.state_after.is_not(None), AccessEvent.occurred_at < at)
        .subquery()
    )
    people = (select(AccessGrant.person_id).join(ranked, ranked.c.grant_id == AccessGrant.id)
              .where(ranked.c.rn == 1, ranked.c.state_after == "in_force"))
    rows = db.session.execute(select(Person.department_id, func.count(Person.id))
                              .where(Person.id.in_(people)).group_by(Person.department_id))
    return dict(rows.all())


def headcount_by_department(at: datetime) -> dict[int, int]:
    """{department id: headcount at `at`} under the approximation described above (one query)."""
    rows = db.session.execute(
        select(Person.department_id, func.count(Person.id))
        .where(Person.created_at < at, or_(Person.active.is_(True), Person.updated_at > at))
        .group_by(Person.department_id))
    return dict(rows.all())


def coverage_report(system: ProtectedSystem, day: date, compare_with: date | None = None,
                    now: datetime | None = None) -> list[CoverageRow]:
    """Rows per department with a cap or any grant ever, then their total row (code "")."""
    now = now or utcnow()
    after_at = moment_of(day, now)
    after = (in_force_by_department(system.id, after_at), headcount_by_department(after_at))
    before = None
    if compare_with is not None:
        before_at = moment_of(compare_with, now)
        before = (in_force_by_department(system.id, before_at), headcount_by_department(before_at))
    caps = dict(db.session.execute(select(DepartmentCap.department_id, DepartmentCap.cap_percent)
                                   .where(DepartmentCap.system_id == system.id)).all())
    # Departments with a cap or with anyone ever granted; the others would only dilute the total.
    ever = select(Person.department_id).join(AccessGrant, AccessGrant.person_id == Person.id).where(
        AccessGrant.system_id == system.id).distinct()
    ids = set(caps) | set(db.session.scalars(ever))
    departments = db.session.scalars(select(Department).where(Department.id.in_(ids)).order_by(Department.code)).all()
    rows = []
    for d in departments:
        cell_after = CoverageCell(after[0].get(d.id, 0), after[1].get(d.id, 0))
        cell_before = CoverageCell(before[0].get(d.id, 0), before[1].get(d.id, 0)) if before else None
        rows.append(CoverageRow(d.code, d.name_ja, d.name_en, caps.get(d.id), cell_before, cell_after))
    total_after = CoverageCell(sum(r.after.in_force for r in rows), sum(r.after.headcount for r in rows))
    total_before = (CoverageCell(sum(r.before.in_force for r in rows), sum(r.before.headcount for r in rows))
                    if before else None)
    rows.append(CoverageRow("", "合計", "Total", None, total_before, total_after))
    return rows
