"""The training status rule: every branch and its boundaries, without app or database."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from portal.training.status import (
    ACCEPTABLE_FOR_ACCESS,
    TrainingFacts,
    add_months,
    earliest_valid_attestation_day,
    jst_date,
    jst_day_start_utc,
    jst_today,
    task_group,
    training_status,
    validity_end,
)

TODAY = date(2026, 6, 15)
DUE = date(2026, 6, 15)


def status(**facts) -> str:
    facts.setdefault("assigned", True)
    facts.setdefault("due_date", DUE)
    facts.setdefault("required_edition", 2)
    return training_status(TrainingFacts(**facts), TODAY)


def test_no_assignment_is_not_required_even_when_attested():
    assert status(assigned=False, attested_edition=2) == "not_required"


def test_nothing_done_before_the_due_date_is_not_started():
    assert status() == "not_started"


def test_a_started_quiz_on_the_required_edition_is_in_progress():
    assert status(started_edition=2) == "in_progress"


def test_a_quiz_started_on_an_older_edition_does_not_count_as_progress():
    assert status(started_edition=1) == "not_started"


def test_attested_the_latest_material_edition_is_current():
    assert status(attested_edition=2) == "current"


def test_a_later_minor_edition_keeps_training_current():
    # edition 3 is minor: the required (latest material) edition is still 2
    assert status(attested_edition=2, required_edition=2) == "current"
    assert status(attested_edition=3, required_edition=2) == "current"


def test_current_stays_current_after_the_due_date():
    assert status(attested_edition=2, due_date=TODAY - timedelta(days=40)) == "current"


def test_due_date_day_itself_is_not_yet_overdue():
    assert status(due_date=TODAY) == "not_started"
    assert status(due_date=TODAY - timedelta(days=1)) == "overdue"


def test_in_progress_after_the_due_date_is_overdue():
    assert status(started_edition=2, due_date=TODAY - timedelta(days=1)) == "overdue"


def test_new_material_edition_makes_a_trained_person_due_until_the_due_date_inclusive():
    assert status(attested_edition=1, due_date=TODAY) == "due"
    assert status(attested_edition=1, due_date=TODAY - timedelta(days=1)) == "overdue"


def test_due_stays_due_while_retraining_is_in_progress():
    assert status(attested_edition=1, started_edition=2) == "due"


def test_validity_end_day_itself_is_still_current():
    assert status(attested_edition=2, valid_until=TODAY) == "current"
    assert status(attested_edition=2, valid_until=TODAY - timedelta(days=1)) == "expired"


def test_expired_validity_is_expired_even_before_a_new_due_date():
    assert status(attested_edition=1, valid_until=TODAY - timedelta(days=1)) == "expired"


def test_overdue_wins_over_an_expired_older_attestation():
    assert status(attested_edition=1, valid_until=TODAY - timedelta(days=1),
                  due_date=TODAY - timedelta(days=1)) == "overdue"


def test_a_manual_without_a_material_edition_accepts_any_attestation():
    assert status(required_edition=None, attested_edition=1) == "current"


def test_only_current_and_due_are_acceptable_for_access():
    assert ACCEPTABLE_FOR_ACCESS == {"current", "due"}


@pytest.mark.parametrize(("attested_on", "months", "end"), [
    (date(2026, 4, 1), 12, date(2027, 3, 31)),
    (date(2026, 1, 31), 1, date(2026, 2, 27)),
    (date(2024, 2, 29), 12, date(2025, 2, 27)),
    (date(2026, 12, 15), 6, date(2027, 6, 14)),
])
def test_validity_end(attested_on, months, end):
    assert validity_end(attested_on, months) == end


def test_no_validity_period_never_ends():
    assert validity_end(date(2026, 1, 1), None) is None
    assert earliest_valid_attestation_day(TODAY, None) is None


def test_add_months_clamps_to_the_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 14) == date(2028, 1, 30)


@pytest.mark.parametrize("months", [1, 6, 12, 13, 24])
def test_earliest_valid_day_matches_validity_end_every_day(months):
    # The set-based queries rely on: attested_on >= earliest day  <=>  validity_end >= today.
    for offset in range(0, 800, 3):
        today = date(2025, 1, 1) + timedelta(days=offset)
        earliest = earliest_valid_attestation_day(today, months)
        assert validity_end(earliest, months) >= today
        assert validity_end(earliest - timedelta(days=1), months) < today


def test_dates_are_counted_in_japan():
    late_evening_utc = datetime(2026, 6, 14, 15, 30, tzinfo=timezone.utc)  # 00:30 on 15 June in Tokyo
    assert jst_date(late_evening_utc) == date(2026, 6, 15)
    assert jst_date(late_evening_utc.replace(tzinfo=None)) == date(2026, 6, 15)
    assert jst_today(late_evening_utc) == date(2026, 6, 15)
    assert jst_day_start_utc(date(2026, 6, 15)) == datetime(2026, 6, 14, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("status_", "days_left", "group"), [
    ("overdue", -3, "overdue"), ("expired", 30, "overdue"), ("due", 30, "due_soon"),
    ("not_started", 14, "due_soon"), ("not_started", 15, "not_started"), ("in_progress", 3, "due_soon"),
    ("in_progress", 40, "in_progress"), ("current", 3, "current"),
])
def test_my_training_groups_by_urgency(status_, days_left, group):
    assert task_group(status_, TODAY + timedelta(days=days_left), TODAY) == group
