"""State changes of the dashboards: the daily completion pass (the trend's snapshot), audited exports."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import delete, insert

from portal.audit.services import record_event
from portal.dashboards.models import CompletionSnapshot
from portal.dashboards.queries import BEHIND, STATUS_COLUMNS
from portal.extensions import db
from portal.org.models import Person
from portal.training.status import CURRENT, settle, status_counts


def refresh_completion(today: date, now: datetime) -> int:
    """Settle the day's training statuses and keep today's point of the trend (one snapshot row per department).

    The heat map needs nothing kept: it reads the engine's counts, exact at any moment. Replaces
    today's snapshot rows in the caller's transaction; returns the number of department × manual
    cells counted. Run from cron (`portal dashboards snapshot`, `portal reminders send`) or the
    admin's button on the heat map.
    """
    settle(today, now)  # training: the daily settle of the stored statuses
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    cells = set()
    for (department_id, manual_id, status), number in status_counts(today, by_department=True).items():
        if status in STATUS_COLUMNS:
            cells.add((department_id, manual_id))
            totals[department_id][0] += number
            totals[department_id][1] += number if status == CURRENT else 0
            totals[department_id][2] += number if status in BEHIND else 0
    db.session.execute(delete(CompletionSnapshot).where(CompletionSnapshot.day == today))
    if totals:
        db.session.execute(insert(CompletionSnapshot), [
            {"day": today, "department_id": department_id, "assigned_pairs": assigned, "current_pairs": current,
             "overdue_pairs": behind, "taken_at": now}
            for department_id, (assigned, current, behind) in totals.items()])
    db.session.flush()
    return len(cells)


def record_dashboard_export(actor: Person, view: str, table: str, export_format: str, *,
                            scope: dict | None = None, rows: int = 0) -> None:
    """Every dashboard export is audited: who took which table of which scope."""
    record_event(actor, "dashboard.exported", object_type="dashboard", object_id=view,
                 details={"table": table, "format": export_format, "scope": scope or {}, "rows": rows})
