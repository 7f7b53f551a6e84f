"""State changes of the dashboards: the organisation-wide completion pass, audited exports."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import delete, insert

from portal.audit.services import record_event
from portal.dashboards.models import CompletionCell, CompletionSnapshot
from portal.dashboards.queries import BEHIND, STATUS_COLUMNS
from portal.extensions import db
from portal.org.models import Person
from portal.training.status import CURRENT, settle, status_counts


def refresh_completion(today: date, now: datetime) -> int:
    """Count every department × manual once (status_counts) and keep it: cells now, a snapshot for today.

    Replaces all cells and today's snapshot rows in the caller's transaction; returns the
    number of cells written. Run from cron (`portal dashboards snapshot`, `portal reminders
    send`) or the admin's refresh button; it first settles the day's stale training status rows.
    """
    settle(today, now)  # training: the daily settle of the materialised statuses
    counts = status_counts(today, by_department=True)
    cells: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUS_COLUMNS, 0))
    for (department_id, manual_id, status), number in counts.items():
        if status in STATUS_COLUMNS:
            cells[(department_id, manual_id)][status] += number
    db.session.execute(delete(CompletionCell))
    if cells:
        db.session.execute(insert(CompletionCell), [
            {"department_id": department_id, "manual_id": manual_id, "computed_at": now, "as_of": today, **by_status}
            for (department_id, manual_id), by_status in cells.items()])
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (department_id, _manual_id), by_status in cells.items():
        totals[department_id][0] += sum(by_status.values())
        totals[department_id][1] += by_status[CURRENT]
        totals[department_id][2] += sum(by_status[s] for s in BEHIND)
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
