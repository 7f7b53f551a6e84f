"""What dashboards does when the daily run begins (connected by portal.wiring)."""
from __future__ import annotations

from portal.core import signals
from portal.dashboards.services import refresh_completion


def count_before_daily_run(sender, today, now, **_kwargs) -> None:
    """Settle and take today's snapshot for the trend before the day's reminders are claimed."""
    refresh_completion(today, now)


def connect_signals() -> None:
    """Subscribe dashboards to the signals of the features below it (idempotent)."""
    signals.daily_run_started.connect(count_before_daily_run, weak=False)
