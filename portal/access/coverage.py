"""The coverage report: per department, people with a grant in force (and suspended) / headcount, at any date.

Figures of a past date never change afterwards. Holders come from the grant history
(access_events, append-only): a grant was in force at T when its last state-changing step before
T left it in force and it had not ended by T; it counts in the department that step recorded
(the holder's department then), not in the one they belong to now. The headcount at T comes from
person_department_history (append-only): each person counts in the department and active state
of their last row before T. People registered outside the portal without any history row count
as their record stands (registered by T, active now or changed after T).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, literal, or_, select, union_all

from portal.access.cap_rules import LIVE_STATES, CapSpec
from portal.access.control_models import CapExcess
from portal.access.decision import end_of_day_jst
from portal.access.models import AccessDecision, AccessEvent, AccessGrant, DepartmentCap, ProtectedSystem
from portal.access.refresh import refresh_access_decisions
from portal.core.i18n import in_language
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.history import PersonDepartmentHistory as History
from portal.org.models import Department, Person

_RANK = {"in_force": 3, "waiting_for_room": 2, "suspended": 1}


@dataclass(frozen=True)
class CoverageCell:
    """One department at one moment: holders in force, suspended (of them waiting for room), headcount."""

    in_force: int
    headcount: int
    suspended: int = 0
    waiting: int = 0

    @property
    def percent(self) -> float | None:
        """Share in force, in percent (None for an empty department)."""
        return round(100 * self.in_force / self.headcount, 1) if self.headcount else None


@dataclass(frozen=True)
class CoverageRow:
    """One department (or the total) at the two dates, with its cap and any open excess."""

    code: str
    name_ja: str
    name_en: str
    cap: CapSpec | None
    before: CoverageCell | None
    after: CoverageCell
    excess: CapExcess | None = None
    department_id: int | None = None

    @property
    def cap_percent(self) -> int | None:
        """The cap as a percentage (None for no cap or a cap in people)."""
        return self.cap.percent if self.cap else None

    @property
    def cap_text(self) -> str | None:
        """The cap as written: 13% or 3人."""
        return self.cap.text() if self.cap else None

    @property
    def change_points(self) -> float | None:
        """Change of the share in percentage points between the dates."""
        if self.before is None or self.before.percent is None or self.after.percent is None:
            return None
        return round(self.after.percent - self.before.percent, 1)

    @property
    def cap_limit(self) -> int | None:
        """How many may hold a grant in force under the cap at the later date."""
        return None if self.cap is None else self.cap.limit(self.after.headcount)

    def name(self, locale: str) -> str:
        """Department name in the viewer's language."""
        return in_language(locale, self.name_ja, self.name_en)


def moment_of(day: date, now: datetime) -> datetime:
    """The end of a Japan-time day (exclusive), or just after now when that day has not ended yet."""
    return min(end_of_day_jst(day), now + timedelta(microseconds=1))


def catch_up(now: datetime | None = None) -> int:
    """Record time-based changes (expiry, due dates, deadlines) that have passed but were not yet seen."""
    now = now or utcnow()
    stale = db.session.scalars(select(AccessDecision.person_id).where(AccessDecision.recheck_at <= now)).all()
    return refresh_access_decisions(stale, now=now) if stale else 0


def holders_by_department(system_id: int, at: datetime) -> dict[int, CoverageCell]:
    """{department: CoverageCell without headcount} at `at`, by the department each step recorded (one query)."""
    ranked = (
        select(AccessEvent.grant_id, AccessEvent.state_after, AccessEvent.department_id,
               func.row_number().over(partition_by=AccessEvent.grant_id,
                                      order_by=(AccessEvent.occurred_at.desc(), AccessEvent.id.desc())).label("rn"))
        .join(AccessGrant, AccessGrant.id == AccessEvent.grant_id)
        .where(AccessGrant.system_id == system_id, AccessEvent.state_after.is_not(None), AccessEvent.occurred_at < at)
        .subquery()
    )
    rows = db.session.execute(
        select(AccessGrant.person_id, ranked.c.department_id, ranked.c.state_after)
        .join(ranked, ranked.c.grant_id == AccessGrant.id)
        .where(ranked.c.rn == 1, ranked.c.state_after.in_(LIVE_STATES), AccessGrant.expires_at > at))
    best: dict[tuple[int, int], str] = {}
    for person_id, department_id, state in rows:
        key = (department_id, person_id)
        if _RANK[state] > _RANK.get(best.get(key, ""), 0):
            best[key] = state
    counts: dict[int, list[int]] = {}
    for (department_id, _person), state in best.items():
        cell = counts.setdefault(department_id, [0, 0, 0])
        cell[0 if state == "in_force" else 1] += 1
        cell[2] += state == "waiting_for_room"
    return {d: CoverageCell(c[0], 0, c[1], c[2]) for d, c in counts.items()}


def headcount_by_department(at: datetime) -> dict[int, int]:
    """{department: active people at `at`} from the people's history (one query)."""
    before = (select(History.person_id, History.department_id, History.active,
                     func.row_number().over(partition_by=History.person_id,
                                            order_by=(History.valid_from.desc(), History.id.desc())).label("rn"))
              .where(History.valid_from < at).subquery())
    seen_before = select(History.person_id).where(History.valid_from < at)
    # Registered by `at` although their first row is later (a record dated back): as they were first seen.
    first = (select(History.person_id, History.department_id, History.active,
                    func.row_number().over(partition_by=History.person_id,
                                           order_by=(History.valid_from, History.id)).label("rn"))
             .join(Person, Person.id == History.person_id)
             .where(Person.created_at < at, History.person_id.not_in(seen_before)).subquery())
    without = (select(Person.id.label("person_id"), Person.department_id,
                      or_(Person.active.is_(True), Person.updated_at > at).label("active"), literal(1).label("rn"))
               .where(Person.created_at < at, ~select(History.id).where(History.person_id == Person.id).exists()))
    states = union_all(select(before.c.person_id, before.c.department_id, before.c.active, before.c.rn),
                       select(first.c.person_id, first.c.department_id, first.c.active, first.c.rn),
                       without).subquery()
    rows = db.session.execute(select(states.c.department_id, func.count()).where(
        and_(states.c.rn == 1, states.c.active.is_(True))).group_by(states.c.department_id))
    return dict(rows.all())


def coverage_cells(system_id: int, at: datetime) -> dict[int, CoverageCell]:
    """{department: CoverageCell} at `at` (two queries): what each row of the report shows."""
    found = holders_by_department(system_id, at)
    counts = headcount_by_department(at)
    return {d: CoverageCell(found.get(d, CoverageCell(0, 0)).in_force, counts.get(d, 0),
                            found.get(d, CoverageCell(0, 0)).suspended, found.get(d, CoverageCell(0, 0)).waiting)
            for d in set(found) | set(counts)}


def _total(cells: list[CoverageCell]) -> CoverageCell:
    return CoverageCell(sum(c.in_force for c in cells), sum(c.headcount for c in cells),
                        sum(c.suspended for c in cells), sum(c.waiting for c in cells))


def coverage_report(system: ProtectedSystem, day: date, compare_with: date | None = None,
                    now: datetime | None = None) -> list[CoverageRow]:
    """Rows per department with a cap or any grant ever, then their total row (code "")."""
    now = now or utcnow()
    after_at = moment_of(day, now)
    after = coverage_cells(system.id, after_at)
    before = coverage_cells(system.id, moment_of(compare_with, now)) if compare_with is not None else None
    caps = {r.department_id: CapSpec(r.cap_percent, r.cap_people) for r in db.session.execute(
        select(DepartmentCap.department_id, DepartmentCap.cap_percent, DepartmentCap.cap_people)
        .where(DepartmentCap.system_id == system.id))}
    # Departments with a cap or where anyone ever held a grant; the others would only dilute the total.
    ever = select(AccessEvent.department_id).join(AccessGrant, AccessGrant.id == AccessEvent.grant_id).where(
        AccessGrant.system_id == system.id).distinct()
    ids = set(caps) | set(db.session.scalars(ever))
    departments = db.session.scalars(select(Department).where(Department.id.in_(ids)).order_by(Department.code)).all()
    excesses = {}
    if after_at > now:  # today: what is open now
        excesses = {e.department_id: e for e in db.session.scalars(select(CapExcess).where(
            CapExcess.system_id == system.id, CapExcess.closed_at.is_(None)))}
    empty = CoverageCell(0, 0)
    rows = [CoverageRow(d.code, d.name_ja, d.name_en, caps.get(d.id),
                        before.get(d.id, empty) if before is not None else None, after.get(d.id, empty),
                        excesses.get(d.id), d.id) for d in departments]
    total_before = _total([r.before for r in rows]) if before is not None else None
    rows.append(CoverageRow("", "合計", "Total", None, total_before, _total([r.after for r in rows])))
    return rows
