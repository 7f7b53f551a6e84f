"""Who is owed which reminder, and the digest's week key (pure)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.reminders.rules import days_left, reminder_kind, week_start

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize("status, due, expected", [
    ("overdue", TODAY - timedelta(days=1), "overdue"),
    ("expired", None, "overdue"),
    ("not_started", TODAY, "due_soon"),                    # due today
    ("in_progress", TODAY + timedelta(days=7), "due_soon"),  # last day of the window
    ("due", TODAY + timedelta(days=3), "due_soon"),
    ("not_started", TODAY + timedelta(days=8), None),      # not yet
    ("current", TODAY + timedelta(days=1), None),
    ("not_started", None, None),
])
def test_reminder_kind(status, due, expected):
    assert reminder_kind(status, due, TODAY, 7) == expected


def test_week_start_is_the_monday_of_the_iso_week():
    assert week_start(TODAY) == date(2026, 11, 23)
    assert week_start(date(2026, 11, 23)) == date(2026, 11, 23)
    assert week_start(date(2026, 11, 29)) == date(2026, 11, 23)  # Sunday belongs to the same week
    assert week_start(date(2026, 11, 30)) == date(2026, 11, 30)


def test_days_left():
    assert days_left(TODAY + timedelta(days=2), TODAY) == 2
    assert days_left(TODAY - timedelta(days=1), TODAY) == -1
    assert days_left(None, TODAY) is None
