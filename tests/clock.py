"""The test clock: every test runs at a pinned moment, never at today's date.

`pinned_clock` (autouse) starts each test at PINNED_START with time running on from there, so
a test that reads "now" gets the same date whatever the calendar says. `clock` freezes time at
START and lets a test move it. Both use time-machine, which replaces the C-level clock
functions, so every module sees the same time however it imports `datetime` or `time`.

Run the whole suite at another moment with PORTAL_TEST_CLOCK=2027-12-06T09:00:00+09:00.

A test that must see the real clock (a browser whose cookies expire by the real date, a
process started outside this one) says so with `@pytest.mark.real_clock("why")`;
`check_real_clock_marker` refuses the marker without a reason.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

#: Where every test's clock starts (10:00 in Japan on an ordinary Monday).
PINNED_START = datetime.fromisoformat(os.environ.get("PORTAL_TEST_CLOCK") or "2026-11-16T10:00:00+09:00")
#: Where `clock` starts: 2026-04-01 12:00 in Japan (the access tests' fiscal-year start).
START = datetime(2026, 4, 1, 3, 0, tzinfo=timezone.utc)


class Clock:
    """A frozen clock a test can move; `now` is what every module's clock reads."""

    def __init__(self, traveller: time_machine.Coordinates):
        self._traveller = traveller

    @property
    def now(self) -> datetime:
        """The current (frozen) moment, aware UTC."""
        return datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        """Jump to a moment (aware)."""
        self._traveller.move_to(moment)

    def advance(self, **delta) -> datetime:
        """Move forward by timedelta(**delta); returns the new time."""
        self._traveller.shift(timedelta(**delta))
        return self.now


def check_real_clock_marker(item: pytest.Item) -> None:
    """A test may use the real clock only when it says why."""
    marker = item.get_closest_marker("real_clock")
    if marker is not None and not (marker.args and str(marker.args[0]).strip()):
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.real_clock needs a reason")


@pytest.fixture(autouse=True)
def pinned_clock(request):
    """Every test starts at PINNED_START (time runs on), unless it is marked real_clock."""
    if request.node.get_closest_marker("real_clock") is not None:
        yield None
        return
    with time_machine.travel(PINNED_START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def clock(pinned_clock) -> Clock:
    """Freeze time at START (at the real now in a real_clock test); the test moves it with
    clock.set(...) and clock.advance(...)."""
    start = START if pinned_clock is not None else datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False) as traveller:
        yield Clock(traveller)
