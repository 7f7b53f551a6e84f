"""Reads behind the dashboards: a fixed few queries per page, whatever the headcount.

Every count comes from the training-status engine's one count cache (portal.training.status:
status_counts over training_status_counts, corrected by the rows stale today; proven equal to the
pure rule by the training tests): department pages, the index and the organisation heat map all
count "as of now" and so always agree. The heat map used to read a copy frozen at the last daily
pass (completion_cells); the engine's counts are kept exact by the triggers between settles and
cost a read of departments × manuals rows, so the copy went. Only the trend reads stored history:
one snapshot per day and department (models.CompletionSnapshot), since past statuses cannot be
recomputed.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import add
from typing import NamedTuple

from sqlalchemy import String, case, cast, func, select

from portal.core.sql import id_filter
from portal.dashboards.models import CompletionSnapshot
from portal.extensions import db
from portal.manuals.models import Manual
from portal.org.models import Department, Person
from portal.org.queries import departments_by_id, visible_department_ids  # noqa: F401 - the pages read both here
from portal.training.models import QuizAttempt
from portal.training.status import (
    COUNTED,
    CURRENT,
    DUE,
    EXPIRED,
    IN_PROGRESS,
    NOT_STARTED,
    OVERDUE,
    ManualFacts,
    department_pairs_select,
    status_counts,
    wide_status_counts,
)

#: Dashboard columns, in the order a reader scans them: done, then what needs doing, worst last.
STATUS_COLUMNS = (CURRENT, DUE, IN_PROGRESS, NOT_STARTED, OVERDUE, EXPIRED)
#: Statuses that need someone to act now (remind, escalate).
BEHIND = (OVERDUE, EXPIRED)
TREND_DAYS = 90


@dataclass
class Counts:
    """People per training status for one manual (or one department, or one cell)."""

    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_COLUMNS, 0))

    @property
    def assigned(self) -> int:
        """Everyone the manual is assigned to."""
        return sum(self.by_status.values())

    @property
    def behind(self) -> int:
        """Overdue or expired."""
        return sum(self.by_status[s] for s in BEHIND)

    @property
    def share_current(self) -> float | None:
        """Current ÷ assigned, None when nobody is assigned."""
        return self.by_status[CURRENT] / self.assigned if self.assigned else None

    def add(self, status: str, count: int) -> None:
        """Count `count` more people under `status`."""
        self.by_status[status] = self.by_status.get(status, 0) + count


def counts_by_department(facts: dict[int, ManualFacts], today: date,
                         department_ids: Collection[int]) -> dict[int, Counts]:
    """{department_id: Counts} over every manual, from the engine's counts (status_counts)."""
    result: dict[int, Counts] = defaultdict(Counts)
    if not facts or not department_ids:
        return result
    for (department_id, _manual_id, status), count in status_counts(
            today, department_ids=department_ids, manual_ids=list(facts), by_department=True).items():
        result[department_id].add(status, count)
    return result


class Pair(NamedTuple):
    """One person × manual of a department, with its status (attestation details in exports only)."""

    person_id: int
    manual_id: int
    status: str
    due_date: date | None
    attested_edition_number: int | None = None
    attested_at: datetime | None = None


def department_pairs(facts: dict[int, ManualFacts], today: date, department_ids: Collection[int]) -> list[Pair]:
    """Every assigned pair of the departments' active people, with status and details (one query; exports)."""
    if not facts or not department_ids:
        return []
    stmt = department_pairs_select(today, department_ids, facts, details=True)
    return [Pair(*row) for row in db.session.connection().execute(stmt)]


def department_summary(facts: dict[int, ManualFacts], today: date,
                       department_ids: Collection[int]) -> tuple[dict[int, Counts], list[Pair]]:
    """Counts per manual and the pairs that are behind, from one pass of the SQL rule (one query).

    The database groups by manual and status and lists "person:due date" only for the pairs
    behind, so a few hundred short rows come back instead of 12,500 pairs for a 250-person
    department with 50 manuals.
    """
    counts: dict[int, Counts] = defaultdict(Counts)
    if not facts or not department_ids:
        return counts, []
    pairs = department_pairs_select(today, department_ids, facts).subquery()
    entry = case((pairs.c.status.in_(BEHIND),
                  cast(pairs.c.person_id, String) + ":" + func.coalesce(cast(pairs.c.due_date, String), "")))
    listed = (func.string_agg(entry, ",") if db.session.get_bind().dialect.name == "postgresql"
              else func.group_concat(entry, ","))
    behind = []
    for manual_id, status, number, people in db.session.connection().execute(
            select(pairs.c.manual_id, pairs.c.status, func.count(), listed)
            .group_by(pairs.c.manual_id, pairs.c.status)):
        counts[manual_id].add(status, number)
        for item in (people or "").split(","):
            if item:
                person_id, _sep, due = item.partition(":")
                behind.append(Pair(int(person_id), manual_id, status, date.fromisoformat(due[:10]) if due else None))
    return counts, behind


class PersonRow(NamedTuple):
    """The few facts of a person that lists show."""

    id: int
    employee_no: str
    name: str
    name_kana: str
    department_id: int


def people_in(department_ids: Collection[int]) -> dict[int, PersonRow]:
    """Active people of the departments by kana reading, by id (one query)."""
    if not department_ids:
        return {}
    stmt = (select(Person.id, Person.employee_no, Person.name, Person.name_kana, Person.department_id)
            .where(id_filter(Person.department_id, department_ids), Person.active.is_(True))
            .order_by(Person.name_kana, Person.employee_no))
    return {row[0]: PersonRow(*row) for row in db.session.execute(stmt)}


def manuals_by_id(manual_ids: Collection[int]) -> dict[int, Manual]:
    """Manuals by id, ordered by slug (one query)."""
    if not manual_ids:
        return {}
    manuals = db.session.scalars(select(Manual).where(id_filter(Manual.id, manual_ids)).order_by(Manual.slug))
    return {manual.id: manual for manual in manuals}


def department_for_viewer(viewer: Person, department_id: int) -> Department | None:
    """The department if the viewer may see it (managers: only their own), else None."""
    scope = visible_department_ids(viewer)
    if scope is not None and department_id not in scope:
        return None
    return db.session.get(Department, department_id)


def person_for_viewer(viewer: Person, person_id: int) -> Person | None:
    """A person in a department the viewer may see, else None."""
    person = db.session.get(Person, person_id)
    if person is None:
        return None
    scope = visible_department_ids(viewer)
    if scope is not None and person.department_id not in scope:
        return None
    return person


# --- organisation: the engine's counts now, and the daily snapshots ------------------------------


@dataclass
class HeatMap:
    """Departments × manuals as counted now (the same counts as the department pages)."""

    cells: dict[tuple[int, int], Counts]
    by_department: dict[int, Counts]
    by_manual: dict[int, Counts]
    #: The JST day the statuses are decided for (today).
    as_of: date


def heat_map(today: date, department_ids: Collection[int] | None = None) -> HeatMap:
    """Every department × manual cell from the engine's counts (three queries); department_ids narrows it."""
    cells: dict[tuple[int, int], Counts] = {}
    departments: dict[int, list[int]] = {}
    manuals: dict[int, list[int]] = {}
    if department_ids is None or department_ids:
        for (department_id, manual_id), sums in wide_status_counts(
                today, department_ids=department_ids, by_department=True).items():
            cells[(department_id, manual_id)] = Counts(dict(zip(COUNTED, sums)))
            for totals, key in ((departments, department_id), (manuals, manual_id)):
                total = totals.get(key)
                totals[key] = sums if total is None else list(map(add, total, sums))
    by_department = defaultdict(Counts, {key: Counts(dict(zip(COUNTED, sums))) for key, sums in departments.items()})
    by_manual = defaultdict(Counts, {key: Counts(dict(zip(COUNTED, sums))) for key, sums in manuals.items()})
    return HeatMap(cells, by_department, by_manual, today)


@dataclass(frozen=True)
class TrendPoint:
    """One day of the trend."""

    day: date
    assigned: int
    current: int
    overdue: int

    @property
    def share_current(self) -> float | None:
        """Current ÷ assigned that day."""
        return self.current / self.assigned if self.assigned else None


def trend(today: date, department_ids: Collection[int] | None = None, days: int = TREND_DAYS) -> list[TrendPoint]:
    """Share current per day over the last `days` days, from the snapshots (one query)."""
    stmt = (select(CompletionSnapshot.day, func.sum(CompletionSnapshot.assigned_pairs),
                   func.sum(CompletionSnapshot.current_pairs), func.sum(CompletionSnapshot.overdue_pairs))
            .where(CompletionSnapshot.day > today - timedelta(days=days), CompletionSnapshot.day <= today)
            .group_by(CompletionSnapshot.day).order_by(CompletionSnapshot.day))
    if department_ids is not None:
        if not department_ids:
            return []
        stmt = stmt.where(id_filter(CompletionSnapshot.department_id, department_ids))
    return [TrendPoint(day, int(assigned or 0), int(current or 0), int(overdue or 0))
            for day, assigned, current, overdue in db.session.execute(stmt)]


# --- one person's history ---------------------------------------------------------------------


def attempts_of(person_id: int) -> list[tuple[QuizAttempt, Manual]]:
    """The person's quiz attempts with their manuals, newest first (one query)."""
    stmt = (select(QuizAttempt, Manual).join(Manual, Manual.id == QuizAttempt.manual_id)
            .where(QuizAttempt.person_id == person_id)
            .order_by(QuizAttempt.started_at.desc(), QuizAttempt.id.desc()))
    return [(attempt, manual) for attempt, manual in db.session.execute(stmt)]

