"""What manuals does when the organisation changes (connected by portal.wiring)."""
from __future__ import annotations

from portal.core import signals
from portal.manuals.assignments import reconcile_assignments, today_jst


def reassign_after_people_changed(sender, person_ids=None, now=None, **_kwargs) -> None:
    """Joiners and movers get what they must read, leavers lose it; then the layers above hear of it."""
    reconcile_assignments(today_jst())
    signals.manual_assignments_changed.send("manuals", person_ids=person_ids, now=now)


def connect_signals() -> None:
    """Subscribe manuals to the signals of the features below it (idempotent)."""
    signals.people_changed.connect(reassign_after_people_changed, weak=False)
