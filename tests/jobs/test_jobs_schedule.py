"""The daily schedule: each task runs once per slot (PORTAL_DAILY_AT, JST) whatever the number of
consumers, a missed day is caught up once, a dead or failed run is taken over."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs import engine, schedules  # noqa: F401  (imported before the clock patches utcnow)
from portal.jobs.models import ScheduleRun
from portal.jobs.queue import get_queue, run_pending
from portal.jobs.schedules import claim_run, latest_slot, parse_daily_at, tick
from portal.outbox.models import OutboxMail
from portal.reminders.models import ReminderLog


@pytest.fixture
def app_overrides(queue_by_hand) -> dict:
    """The queue runs by hand (tests/jobs_fixtures.py)."""
    return queue_by_hand


#: The daily tasks, by name (the anchor because the fixtures set PORTAL_AUDIT_ANCHOR_DIR).
DAILY = ["access", "anchor", "coverage", "links", "reminders", "reviews"]


def _jst(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 4, day, hour, minute, tzinfo=timezone(timedelta(hours=9))).astimezone(timezone.utc)


def test_the_slot_is_the_latest_daily_moment_in_japan_time():
    at = parse_daily_at("07:15")
    assert at == time(7, 15)
    assert latest_slot(_jst(1, 7, 14), at) == "2026-03-31"
    assert latest_slot(_jst(1, 7, 15), at) == "2026-04-01"
    assert latest_slot(_jst(1, 23, 59), at) == "2026-04-01"
    assert latest_slot(_jst(2, 0, 30), at) == "2026-04-01"  # 15:30 UTC the day before


def _runs() -> list[tuple[str, str, str, int]]:
    db.session.expire_all()
    return sorted((r.name, r.slot, r.state, r.attempts) for r in db.session.scalars(select(ScheduleRun)))


def test_each_daily_task_runs_once_per_slot_whatever_the_ticks(clock, app, org):
    clock.set(_jst(1, 7, 16))
    tick()
    tick()  # a second consumer's tick, before the runs started: the same tasks, enqueued twice
    run_pending(app)
    assert _runs() == [(name, "2026-04-01", "done", 1) for name in DAILY]
    queued = db.session.scalar(select(func.count()).select_from(OutboxMail))
    assert queued == db.session.scalar(select(func.count()).select_from(ReminderLog)) > 0
    clock.advance(hours=3)
    assert tick()["daily"] == []
    clock.set(_jst(2, 7, 15))
    assert sorted(tick()["daily"]) == [(name, "2026-04-02") for name in DAILY]


def test_a_day_missed_while_everything_was_down_is_caught_up_once(app, clock):
    clock.set(_jst(5, 9, 0))  # consumers were down from the 1st to the 5th
    assert sorted(tick()["daily"]) == [(name, "2026-04-05") for name in DAILY]
    run_pending(app)
    assert [slot for _name, slot, _state, _n in _runs()] == ["2026-04-05"] * len(DAILY)


def test_of_two_consumers_one_runs_the_slot_and_a_dead_run_is_taken_over(app, clock):
    clock.set(_jst(1, 8, 0))
    assert claim_run("reminders", "2026-04-01", "consumer-a", clock.now)
    assert not claim_run("reminders", "2026-04-01", "consumer-b", clock.now)
    clock.advance(minutes=10)
    assert ("reminders", "2026-04-01") not in tick()["daily"]  # consumer a is still at it
    clock.advance(minutes=30)  # consumer a died
    assert ("reminders", "2026-04-01") in tick()["daily"]
    assert claim_run("reminders", "2026-04-01", "consumer-c", clock.now)
    assert _runs() == [("reminders", "2026-04-01", "running", 2)]


def test_a_failed_run_is_tried_again_at_most_three_times(app, clock, monkeypatch):
    calls = []

    def broken():
        calls.append(1)
        raise RuntimeError("database away")

    monkeypatch.setattr(schedules, "daily_tasks", lambda: {"broken": broken})
    clock.set(_jst(1, 8, 0))
    for _tick in range(5):
        tick()
        run_pending(app)
    assert len(calls) == 3 and _runs() == [("broken", "2026-04-01", "failed", 3)]


def test_the_tick_is_a_periodic_task_due_every_minute_on_every_consumer(app, clock):
    huey, _tasks = get_queue(app)
    due = [task.name for task in huey.read_periodic(clock.now.replace(tzinfo=None))]
    assert due == ["jobs.tick"]
