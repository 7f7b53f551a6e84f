"""The pure decisions behind corrective instructions (no app, no database)."""
from __future__ import annotations

from datetime import date

import pytest

from portal.instructions import rules

PDF = b"%PDF-1.7\n..."
PNG = b"\x89PNG\r\n\x1a\n...."
JPEG = b"\xff\xd8\xff\xe0...."
GIF = b"GIF89a...."
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 "


@pytest.mark.parametrize("data, expected", [
    (PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp"),
    (b"<html><script>alert(1)</script>", None), (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
    (b"PK\x03\x04word/document.xml", None), (b" %PDF-1.4", None), (b"", None), (b"RIFF\x00\x00\x00\x00WAVE", None),
])
def test_types_are_detected_from_the_first_bytes_only(data, expected):
    assert rules.sniff_type(data) == expected


def test_a_pdf_named_pdf_is_accepted():
    assert rules.check_attachment("通知.pdf", PDF) == ("application/pdf", None)
    assert rules.check_attachment("photo.JPEG", JPEG) == ("image/jpeg", None)


@pytest.mark.parametrize("name, data, code", [
    ("evil.pdf", b"<html><script>alert(1)</script></html>", "content"),   # wrong magic, .pdf name
    ("picture.pdf", PNG, "content"),                                       # a real PNG, but named .pdf
    ("report.html", b"<html></html>", "ending"),
    ("drawing.svg", b"<svg/>", "ending"),
    ("pdf", PDF, "ending"),                                                # no ending at all
    ("empty.pdf", b"", "empty"),
    ("huge.pdf", b"%PDF-" + b"0" * rules.ATTACHMENT_MAX_BYTES, "too_large"),
])
def test_wrong_type_or_size_is_refused_with_a_reason(name, data, code):
    detected, problem = rules.check_attachment(name, data)
    assert detected is None and problem.code == code and problem.filename == name


def test_the_real_size_decides_when_only_the_beginning_was_read():
    _detected, problem = rules.check_attachment("big.pdf", PDF, size=12 * 1024 * 1024)
    assert problem.code == "too_large" and problem.params == {"size_mb": 12.0}
    assert rules.check_attachment("ok.pdf", PDF, size=len(PDF)) == ("application/pdf", None)


def test_exactly_five_megabytes_is_allowed():
    data = b"%PDF-" + b"0" * (rules.ATTACHMENT_MAX_BYTES - 5)
    assert rules.check_attachment("limit.pdf", data) == ("application/pdf", None)


def test_deadline_must_be_today_or_later_and_within_a_year():
    today = date(2026, 11, 29)
    assert rules.deadline_problem(None, today) == "missing"
    assert rules.deadline_problem(date(2026, 11, 28), today) == "past"
    assert rules.deadline_problem(today, today) is None
    assert rules.deadline_problem(date(2027, 11, 30), today) is None
    assert rules.deadline_problem(date(2062, 11, 29), today) == "too_far"


@pytest.mark.parametrize("recipients, acknowledged, today, corrected, expected", [
    (3, 3, date(2026, 12, 31), False, "complete"),
    (3, 3, date(2026, 12, 31), True, "complete"),   # everyone acknowledged before the correction
    (3, 2, date(2026, 12, 1), False, "open"),
    (3, 2, date(2026, 12, 2), False, "overdue"),    # the day after the deadline
    (3, 2, date(2026, 12, 2), True, "corrected"),   # superseded: not "overdue" forever
    (0, 0, date(2026, 11, 30), False, "open"),
])
def test_status(recipients, acknowledged, today, corrected, expected):
    assert rules.instruction_status(date(2026, 12, 1), today, recipients, acknowledged, corrected) == expected


def test_employee_numbers_split_on_commas_spaces_and_japanese_commas():
    assert rules.parse_employee_numbers(" E1, E2\nE3、E4　E5;E1 ") == ["E1", "E2", "E3", "E4", "E5"]
    assert rules.parse_employee_numbers("") == []


def test_who_may_be_addressed():
    manager = frozenset({"employee", "manager"})
    assert rules.may_issue_to(frozenset({"employee", "admin"}), frozenset(), "internal", 9, "internal")
    assert rules.may_issue_to(manager, frozenset({1}), "internal", 1, "internal")
    assert not rules.may_issue_to(manager, frozenset({1}), "internal", 2, "internal")
    assert rules.may_issue_to(manager, frozenset({1}), "internal", 3, "agency")
    # An agency's own manager does not instruct other agencies.
    assert not rules.may_issue_to(manager, frozenset({3}), "agency", 4, "agency")
    assert not rules.may_issue_to(frozenset({"employee"}), frozenset({1}), "internal", 1, "internal")


def test_content_hash_changes_with_any_part_of_the_instruction():
    base = dict(title="停止", body_md="本文", reason="理由", acknowledge_by=date(2026, 12, 1),
                recipient_spec={"departments": ["A"], "people": []}, issuer_employee_no="M1", corrects_id=None,
                attachment_hashes=[])
    first = rules.content_hash(**base)
    assert first == rules.content_hash(**base) and len(first) == 64
    for change in ({"body_md": "本文。"}, {"recipient_spec": {"departments": ["B"], "people": []}},
                   {"attachment_hashes": ["ab"]}, {"acknowledge_by": date(2026, 12, 2)}):
        assert rules.content_hash(**{**base, **change}) != first


def test_progress_groups_by_department_in_order():
    rows = [
        {"department_id": 1, "department_code": "CUST", "department_name": "顧客", "department_kind": "internal",
         "acknowledged_at": "t"},
        {"department_id": 1, "department_code": "CUST", "department_name": "顧客", "department_kind": "internal",
         "acknowledged_at": None},
        {"department_id": 2, "department_code": "AG", "department_name": "代理店", "department_kind": "agency",
         "acknowledged_at": None},
    ]
    progress = rules.progress_by_department(rows)
    assert [(g["code"], g["total"], g["acknowledged"], g["pending"], g["percent"]) for g in progress] == [
        ("CUST", 2, 1, 1, 50), ("AG", 1, 0, 1, 0)]
