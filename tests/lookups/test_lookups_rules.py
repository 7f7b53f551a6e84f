"""Pure rules of look-up requests: transitions, expiry, conflicts, personal data, statistics ranges."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from portal.lookups import rules

NOW = datetime(2026, 4, 1, 3, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("status, action, after", [
    ("awaiting_approval", "approve", "awaiting_handler"),
    ("awaiting_approval", "refuse", "refused"),
    ("awaiting_approval", "withdraw", "withdrawn"),
    ("awaiting_approval", "expire", "expired"),
    ("awaiting_handler", "take", "in_progress"),
    ("awaiting_handler", "withdraw", "withdrawn"),
    ("awaiting_handler", "expire", "expired"),
    ("in_progress", "answer", "answered"),
])
def test_allowed_transitions(status, action, after):
    assert rules.next_status(status, action) == after


@pytest.mark.parametrize("status, action", [
    ("awaiting_approval", "take"),  # nobody handles before the manager approves
    ("awaiting_approval", "answer"),
    ("awaiting_handler", "approve"),  # approved once only
    ("awaiting_handler", "answer"),  # must be taken first
    ("in_progress", "take"),  # a second taker loses
    ("in_progress", "withdraw"),  # too late once someone is checking
    ("in_progress", "expire"),
    ("refused", "approve"), ("answered", "answer"), ("withdrawn", "take"), ("expired", "approve"),
])
def test_refused_transitions(status, action):
    assert rules.next_status(status, action) is None


def test_every_final_status_allows_nothing():
    actions = {action for _status, action in rules.TRANSITIONS}
    for status in rules.FINAL:
        assert all(rules.next_status(status, action) is None for action in actions)


def test_waiting_requests_expire_at_their_moment_but_taken_ones_do_not():
    expires = NOW + timedelta(days=14)
    assert rules.effective_status("awaiting_approval", expires, expires - timedelta(seconds=1)) == "awaiting_approval"
    assert rules.effective_status("awaiting_approval", expires, expires) == "expired"
    assert rules.effective_status("awaiting_handler", expires, expires + timedelta(days=1)) == "expired"
    assert rules.effective_status("in_progress", expires, expires + timedelta(days=1)) == "in_progress"
    assert rules.effective_status("answered", expires, expires + timedelta(days=1)) == "answered"


def test_nobody_handles_their_own_request_and_the_approver_does_not_handle_it():
    assert rules.handling_conflict(1, 1, None) == "own_request"
    assert rules.handling_conflict(2, 1, 2) == "approver_cannot_handle"
    assert rules.handling_conflict(3, 1, 2) is None


@pytest.mark.parametrize("text", [
    "03-1234-5678", "090-1234-5678", "09012345678", "(03)1234-5678", "０９０－１２３４－５６７８",
    "0120-123-456", "+81 90 1234 5678", "お客様の電話 03 1234 5678 に確認",
])
def test_phone_numbers_are_refused(text):
    assert rules.personal_data_problem(text) == "phone"


@pytest.mark.parametrize("text", ["taro@example.co.jp", "連絡先 ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ まで"])
def test_email_addresses_are_refused(text):
    assert rules.personal_data_problem(text) == "email"


def test_postcodes_are_refused():
    assert rules.personal_data_problem("〒100-0001 東京都千代田区") == "postcode"


@pytest.mark.parametrize("text", [
    "ORD-2026-000123", "受付番号 A12345678 の光回線の契約有無", "2026-04-01 に開通予定か", "1回線", "FX12345678901",
])
def test_ordinary_questions_and_order_numbers_pass(text):
    assert rules.personal_data_problem(text) is None


@pytest.mark.parametrize("text, problem", [
    ("", None), ("ORD-2026-000123", None), ("ｏｒｄ－１２３", None), ("C/12_34", None),
    ("山田 太郎", "reference_invalid"), ("ORD 123", "reference_invalid"), ("03-1234-5678", "phone"),
    ("a@b.jp", "email"), ("A" * 61, "reference_too_long"),
])
def test_reference_is_a_reference_only(text, problem):
    assert rules.reference_problem(text) == problem


def test_reference_is_stored_in_ascii():
    assert rules.normalised_reference(" ｏｒｄ－１２３ ") == "ord-123"


@pytest.mark.parametrize("text, problem", [
    ("", "explanation_empty"), (".", "explanation_empty"), ("確認のため", "explanation_too_short"),
    ("あ" * 30, "explanation_repetitive"),
    ("付加サービスの申込みを受けたため、光回線の契約有無を確認したい。", None),
])
def test_purpose_explanation_uses_the_access_rule(text, problem):
    assert rules.explanation_problem(text) == problem


def test_statistics_ranges():
    assert rules.range_problem(None, date(2026, 4, 1)) == "range_missing"
    assert rules.range_problem(date(2026, 4, 2), date(2026, 4, 1)) == "range_reversed"
    assert rules.range_problem(date(2026, 1, 1), date(2027, 1, 1)) is None  # 366 days
    assert rules.range_problem(date(2026, 1, 1), date(2027, 1, 2)) == "range_too_long"
    assert rules.range_problem(date(2026, 4, 1), date(2026, 4, 1)) is None


def test_jst_days_start_at_japan_midnight():
    start, end = rules.jst_day_range(date(2026, 4, 1), date(2026, 4, 2))
    assert start.astimezone(timezone.utc) == datetime(2026, 3, 31, 15, 0, tzinfo=timezone.utc)
    assert end.astimezone(timezone.utc) == datetime(2026, 4, 2, 15, 0, tzinfo=timezone.utc)


def test_pivot_keeps_first_seen_order_and_adds_up():
    rows, columns, cells = rules.pivot([("B", "x", 1), ("A", "y", 2), ("B", "x", 3)])
    assert rows == ["B", "A"] and columns == ["x", "y"]
    assert cells == {("B", "x"): 4, ("A", "y"): 2}
