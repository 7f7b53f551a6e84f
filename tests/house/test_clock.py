"""The test clock itself: every test runs at the pinned moment, whatever today's date is."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest

from portal.core.timeutil import to_jst, utcnow
from tests.clock import PINNED_START, START, check_real_clock_marker


def test_a_test_starts_at_the_pinned_moment_not_today():
    assert date.today() == PINNED_START.date()
    assert abs(utcnow() - PINNED_START) < timedelta(minutes=5)
    assert abs(time.time() - PINNED_START.timestamp()) < 300


def test_the_movable_clock_moves_every_way_of_reading_time(clock):
    assert utcnow() == START == clock.now
    clock.advance(days=400)
    later = START + timedelta(days=400)
    assert utcnow() == later and datetime.now(timezone.utc) == later and time.time() == later.timestamp()
    clock.set(datetime(2031, 1, 1, tzinfo=timezone.utc))
    assert to_jst(utcnow()).date() == date(2031, 1, 1)


@pytest.mark.real_clock("checks that the marker really lets the real date through")
def test_a_marked_test_sees_the_real_clock(tmp_path):
    stamped = tmp_path / "now"
    stamped.write_text("")  # the kernel stamps the file with the real time, which no fake clock touches
    assert abs(stamped.stat().st_mtime - time.time()) < 5


class _Item:
    nodeid = "tests/test_x.py::test_y"

    def __init__(self, marker):
        self._marker = marker

    def get_closest_marker(self, name):
        return self._marker if name == "real_clock" else None


def test_the_real_clock_marker_needs_a_reason():
    check_real_clock_marker(_Item(None))
    check_real_clock_marker(_Item(pytest.mark.real_clock("a browser").mark))
    for bare in (pytest.mark.real_clock.mark, pytest.mark.real_clock(" ").mark):
        with pytest.raises(pytest.UsageError, match="needs a reason"):
            check_real_clock_marker(_Item(bare))
