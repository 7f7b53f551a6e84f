"""The HR file checks and the sync plan as pure functions (no app, no database)."""
from __future__ import annotations

import pytest

from portal.org.hr_csv import UndecodableFile, decode, parse_hr_csv
from portal.org.sync_plan import DepartmentState, OrgSnapshot, PersonState, plan_changes
from tests.org_fixtures import HEADER, hr_file, row


def _codes(text: str, known=frozenset()):
    rows, errors = parse_hr_csv(text, known)
    return rows, [(error.line, error.code) for error in errors]


def test_a_good_file_gives_normalised_rows():
    rows, errors = _codes(hr_file(row("E1", roles="manager employee", manages="D1 D1", active=" FALSE "),
                                  row("E2", kind="agency", department="D2", department_name="代理店")))
    assert errors == []
    assert rows[0].roles == {"manager", "employee"} and rows[0].manages == ("D1",) and rows[0].active is False
    assert rows[0].department_kind == "internal" and rows[1].department_kind == "agency" and rows[1].active is True


def test_every_bad_row_is_reported_with_its_line():
    text = hr_file(row("E1"), row("", email="x@example.co.jp"), row("E3", email=""), row("E4", roles="boss"),
                   row("E5", kind="partner"), row("E1"), row("E7", active="maybe"), row("E8", manages="D1"),
                   row("E9", department_name=""), row("E 10", email="e10@example.co.jp"))
    _rows, errors = _codes(text)
    assert errors == [(3, "missing_employee_no"), (4, "missing_email"), (5, "unknown_role"),
                      (6, "unknown_department_kind"), (7, "duplicate_employee_no"), (8, "bad_active"),
                      (9, "manages_without_manager_role"), (10, "missing_department_name"), (11, "bad_employee_no")]


def test_line_numbers_count_physical_lines_of_quoted_cells():
    text = hr_file('E1,"山田\n太郎",やまだ,e1@example.co.jp,D1,営業企画部,,,,', row("E2", roles="boss"))
    _rows, errors = _codes(text)
    assert errors == [(2, "control_character"), (4, "unknown_role")]


def test_manages_must_name_a_department_in_the_file_or_the_portal():
    text = hr_file(row("E1", roles="manager", manages="D1 OLD NOWHERE"))
    assert _codes(text, frozenset({"OLD"}))[1] == [(2, "unknown_managed_department")]


def test_one_department_code_with_two_names_or_kinds_is_a_conflict():
    text = hr_file(row("E1"), row("E2", department_name="別の名前"), row("E3", kind="agency"))
    assert _codes(text)[1] == [(3, "department_conflict"), (4, "department_conflict")]


def test_over_long_and_private_use_values_are_refused():
    text = hr_file(row("E1", name="あ" * 201), row("E2", name="山\ue000"))
    assert _codes(text)[1] == [(2, "too_long"), (3, "private_use_character")]


@pytest.mark.parametrize("text, code", [
    ("", "empty_file"),
    (HEADER + "\r\n", "no_rows"),
    ("employee_no,name\r\nE1,x\r\n", "missing_columns"),
    (HEADER + ",name\r\n" + row("E1") + "\r\n", "duplicate_columns"),
])
def test_file_level_problems(text, code):
    assert _codes(text)[1] == [(1, code)]


def test_an_unclosed_quote_is_reported_not_crashed_on():
    rows, errors = _codes(hr_file(row("E1")) + 'E2,"山田,やまだ\r\n')
    assert [code for _line, code in errors] == ["bad_csv"]


def test_decoding_names_the_line_of_the_first_bad_byte():
    raw = hr_file(row("E1", "Yamada", "yamada", department_name="Sales"),
                  row("E2", "髙橋", "たかはし", department_name="Sales")).encode("cp932")
    with pytest.raises(UndecodableFile) as refused:
        decode(raw, "utf-8")
    assert (refused.value.error.line, refused.value.error.code) == (3, "not_decodable")
    assert "髙橋" in decode(raw, "cp932")
    assert decode(b"\xef\xbb\xbf" + HEADER.encode(), "utf-8") == HEADER


def test_utf8_chosen_as_cp932_is_refused():
    with pytest.raises(UndecodableFile) as refused:
        decode(hr_file(row("E1")).encode("utf-8"), "cp932")
    assert refused.value.error.code == "looks_like_utf8"


def _snapshot():
    return OrgSnapshot(
        departments={"D1": DepartmentState("営業企画部", "internal")},
        people={
            "E1": PersonState("山田 太郎", "やまだ たろう", "e1@example.co.jp", "D1", True, frozenset(), frozenset()),
            "E9": PersonState("佐藤 花子", "さとう はなこ", "e9@example.co.jp", "D1", True, frozenset({"manager"}),
                              frozenset({"D1"})),
        },
    )


def test_plan_lists_new_changed_roles_and_deactivations():
    rows, _ = parse_hr_csv(hr_file(
        row("E1", "山田 太郎", "やまだ たろう", roles="auditor", department="D2", department_name="新部門",
            kind="agency"),
        row("E2", "髙橋 優子", "たかはし ゆうこ", roles="admin"),
    ))
    plan = plan_changes(rows, _snapshot(), deactivate_missing=True)
    assert [r.department_code for r in plan.new_departments] == ["D2"]
    assert [p.employee_no for p in plan.new_people] == ["E2"]
    assert [(c.key, [f.field for f in c.fields]) for c in plan.changed_people] == [("E1", ["department"])]
    # a new person's grant shows up as a role change too, so nobody gets admin unseen
    assert [(c.key, c.before, c.after) for c in plan.role_changes] == [("E1", (), ("auditor",)), ("E2", (), ("admin",))]
    assert [(ref.key, ref.name) for ref in plan.deactivated] == [("E9", "佐藤 花子")]
    assert plan_changes(rows, _snapshot(), deactivate_missing=False).deactivated == []


def test_same_data_gives_an_empty_plan_and_digest_tracks_every_change():
    rows, _ = parse_hr_csv(hr_file(row("E1", "山田 太郎", "やまだ たろう", email="e1@example.co.jp")))
    assert plan_changes(rows, _snapshot()).is_empty
    changed = _snapshot()
    changed.people["E1"] = PersonState("山田 太朗", "やまだ たろう", "e1@example.co.jp", "D1", True, frozenset(),
                                       frozenset())
    first, second = plan_changes(rows, changed), plan_changes(rows, changed)
    assert not first.is_empty and first.digest() == second.digest()
    assert first.digest() != plan_changes(rows, _snapshot()).digest()
