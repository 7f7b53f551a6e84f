"""Comparing editions: sections added, removed, changed; character-level marks that read well in Japanese."""
from __future__ import annotations

from portal.manuals.comparison import char_diff, compare_sections, diff_lines, summarise_changes
from portal.manuals.rendering import render_markdown


def _sections(markdown: str) -> list[dict]:
    return render_markdown(markdown).sections


def _marked(line) -> str:
    return "".join({"equal": t, "insert": f"[+{t}]", "delete": f"[-{t}]", "gap": f"(…{t})"}[op]
                   for op, t in line.segments)


OLD = """## 目的 {#purpose}

閲覧権限は、所属長が申請し、システム管理部門が付与する。

## 旧規定 {#old}

この規定は廃止される。

## 禁止事項 {#prohibited}

1. 目的外の閲覧
2. 画面の撮影
"""

NEW = """## 目的 {#purpose}

閲覧権限は、管理者が申請し、権限付与責任者が付与する。

## 禁止事項 {#prohibited}

1. 目的外の閲覧
2. 画面の撮影

## 照会の方法 {#lookup}

利用目的を明確にし、管理者の承認を得て照会する。
"""


def test_sections_added_removed_changed_unchanged_in_reading_order():
    comparison = compare_sections(_sections(OLD), _sections(NEW))
    assert [(s.status, s.id) for s in comparison.sections] == [
        ("changed", "purpose"), ("removed", "old"), ("unchanged", "prohibited"), ("added", "lookup")]
    assert (comparison.count("changed"), comparison.count("added"), comparison.count("removed")) == (1, 1, 1)
    assert not comparison.identical


def test_changes_inside_a_japanese_sentence_are_marked_by_character():
    changed = compare_sections(_sections(OLD), _sections(NEW)).sections[0]
    assert [_marked(line) for line in changed.lines] == [
        "閲覧権限は、[-所属長][+管理者]が申請し、[-システム管理部門][+権限付与責任者]が付与する。"]
    assert changed.inserted_chars == len("管理者権限付与責任者")
    assert changed.deleted_chars == len("所属長システム管理部門")


def test_tiny_equal_fragments_between_changes_are_folded_into_one_change():
    ops = char_diff("所属長が申請", "管理者が申請")
    assert ops == [("change", "所属長", "管理者"), ("equal", "が申請", "が申請")]
    # "の" alone would otherwise stay unmarked between two changes: [-A][+B]の[-C][+D]
    assert char_diff("東京の本社", "大阪の支社") == [("change", "東京の本", "大阪の支"), ("equal", "社", "社")]


def test_identical_editions_say_so():
    comparison = compare_sections(_sections(OLD), _sections(OLD))
    assert comparison.identical and comparison.count("unchanged") == 3


def test_unrelated_rewrites_are_shown_removed_and_added_not_as_confetti():
    lines = diff_lines("今日は晴れです。", "会議室の予約方法を変更しました。")
    assert [line.kind for line in lines] == ["delete", "insert"]


def test_similar_lines_are_paired_inside_a_replaced_block():
    old = "第一文はそのまま残ります。\n閲覧は所属長が許可します。"
    new = "全く新しい段落が追加されました。\n第一文はそのまま残ります。\n閲覧は管理者が許可します。"
    marked = [_marked(line) for line in diff_lines(old, new)]
    assert marked == ["[+全く新しい段落が追加されました。]", "第一文はそのまま残ります。",
                      "閲覧は[-所属長][+管理者]が許可します。"]


def test_long_unchanged_runs_inside_a_changed_section_are_folded():
    body = "\n\n".join(f"第{i}項は変わらない。" for i in range(1, 11))
    old = f"## 規則 {{#rules}}\n\n{body}\n\n最後の項は古い。\n"
    new = f"## 規則 {{#rules}}\n\n{body}\n\n最後の項は新しい。\n"
    change = compare_sections(_sections(old), _sections(new)).sections[0]
    kinds = [line.kind for line in change.lines]
    assert kinds == ["gap", "equal", "equal", "change"]
    assert change.lines[0].segments == (("gap", "8"),)


def test_a_renamed_heading_with_the_same_id_shows_old_and_new_titles():
    change = compare_sections(_sections("## 目的 {#purpose}\n\n本文。\n"),
                              _sections("## この手引の目的 {#purpose}\n\n本文。\n")).sections[0]
    assert change.status == "changed" and change.old_title == "目的" and change.title == "この手引の目的"


def test_sections_whose_derived_id_changed_are_matched_by_title():
    comparison = compare_sections(_sections("## 目的\n\n古い。\n"), _sections("## 目的\n\n新しい。\n"))
    assert [s.status for s in comparison.sections] == ["changed"]


def test_summary_by_hash_lists_what_changed_since_an_edition():
    summary = summarise_changes(_sections(OLD), _sections(NEW))
    assert [(c["status"],
             c["id"]) for c in summary] == [("changed", "purpose"), ("added", "lookup"), ("removed", "old")]
