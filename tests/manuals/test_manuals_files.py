"""Manual and quiz files checked without an app or database: each problem names its file and line."""
from __future__ import annotations

import json

import pytest

from portal.manuals.planning import decide_edition
from portal.manuals.quizzes import parse_quiz
from portal.manuals.sources import normalise_text, parse_manual
from tests.manuals_fixtures import manual_text, quiz_text

SECTIONS = {"purpose", "rules"}


def _codes(problems):
    return [(p.code, p.line) for p in problems]


def test_a_valid_manual_is_read_with_every_field():
    source, problems = parse_manual("manuals/handbook.md", manual_text(
        edition=2, summary="規則を改めた", audience="{departments: [D1], kinds: [agency], roles: [manager]}"))
    assert problems == []
    assert (source.slug, source.number, source.change_kind, source.days_allowed) == ("handbook", 2, "material", 30)
    assert source.title_ja == "テスト用の手引" and source.title_en == "Test handbook"
    assert source.audience == {"everyone": False, "departments": ["D1"], "kinds": ["agency"], "roles": ["manager"]}
    assert source.change_summary_ja == "規則を改めた"
    assert str(source.effective_date) == "2026-04-01" and source.validity_months == 12
    assert [s["id"] for s in source.rendered.sections] == ["preamble", "purpose", "rules"]


def test_missing_front_matter_names_line_1():
    _source, problems = parse_manual("m.md", "# 題\n\n## 目的\n")
    assert _codes(problems) == [("no_front_matter", 1)]


def test_unclosed_front_matter():
    _source, problems = parse_manual("m.md", "---\nslug: a\n")
    assert _codes(problems) == [("front_matter_unclosed", 1)]


def test_broken_yaml_names_its_line():
    text = manual_text().replace("days_allowed: 30\n", "days_allowed: [30\n")
    _source, problems = parse_manual("m.md", text)
    assert problems[0].code == "yaml_syntax"
    line = text.split("\n").index("days_allowed: [30") + 1
    assert problems[0].line in (line, line + 1)


def test_unknown_key_and_duplicate_key_name_their_lines():
    text = manual_text(extra="colour: red\nslug: again\n")
    _source, problems = parse_manual("m.md", text)
    lines = text.split("\n")
    assert ("unknown_key", lines.index("colour: red") + 1) in _codes(problems)
    assert ("duplicate_key", lines.index("slug: again") + 1) in _codes(problems)


@pytest.mark.parametrize("old, new, code", [
    ("edition: 1", "edition: 0", "bad_value"),
    ("edition: 1", "edition: one", "bad_value"),
    ("effective_date: 2026-04-01", "effective_date: 2026-13-01", "bad_value"),
    ("change_kind: material", "change_kind: big", "bad_value"),
    ("days_allowed: 30", "days_allowed: -1", "bad_value"),
    ("slug: handbook", "slug: Hand Book", "bad_slug"),
    ("quiz: handbook.yaml", "quiz: ../secrets.yaml", "bad_quiz_name"),
    ("audience: everyone", "audience: {}", "empty_audience"),
    ("audience: everyone", "audience: {teams: [x]}", "unknown_key"),
])
def test_bad_values_are_refused_at_their_line(old, new, code):
    text = manual_text().replace(old, new)
    _source, problems = parse_manual("m.md", text)
    assert code in [p.code for p in problems]
    problem = next(p for p in problems if p.code == code)
    assert problem.line == text.split("\n").index(new) + 1


def test_a_later_edition_needs_a_change_summary():
    _source, problems = parse_manual("m.md", manual_text(edition=2))
    assert [p.code for p in problems] == ["missing_summary"]


def test_missing_keys_are_named():
    text = manual_text().replace("days_allowed: 30\n", "").replace("quiz: handbook.yaml\n", "")
    _source, problems = parse_manual("m.md", text)
    assert {p.params.get("key") for p in problems if p.code == "missing_key"} == {"days_allowed", "quiz"}


def test_a_manual_without_sections_or_with_duplicate_ids_is_refused():
    _s, problems = parse_manual("m.md", manual_text(body="ただの文章。\n"))
    assert [p.code for p in problems] == ["no_sections"]
    text = manual_text(body="## 一 {#a}\n\n本文\n\n## 二 {#a}\n")
    _s, problems = parse_manual("m.md", text)
    assert [(p.code, p.line) for p in problems] == [("duplicate_section_id", text.split("\n").index("## 二 {#a}") + 1)]


def test_line_endings_and_bom_do_not_change_the_hash():
    text = manual_text()
    crlf = ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8")
    assert normalise_text(crlf) == text


def test_a_valid_quiz_is_normalised():
    quiz, problems = parse_quiz("quizzes/handbook.yaml", quiz_text(), "handbook", SECTIONS)
    assert problems == []
    spec = json.loads(quiz.spec_json)
    assert spec["pass_mark"] == 2 and spec["draw"] == 2 and spec["retrain"] == "changed_sections"
    assert spec["time_limit_minutes"] is None
    true_false, single = spec["questions"]
    assert true_false["choices"] == [{"id": "true", "ja": "正しい", "en": "True"},
                                     {"id": "false", "ja": "誤り", "en": "False"}]
    assert true_false["correct"] == ["true"] and true_false["explanation"] == {"ja": "", "en": ""}
    assert single["correct"] == ["a"] and single["text"] == {"ja": "正しいものは？", "en": "Which is right?"}
    assert len(quiz.content_hash) == 64


QUESTION = """  - id: {qid}
    section: {section}
    kind: {kind}
    text: {{ja: {ja}, en: x}}
{rest}"""


def _question(qid="q-3", section="rules", kind="single", ja="問い", rest=None):
    rest = rest if rest is not None else (
        "    choices:\n      - {id: a, ja: あ}\n      - {id: b, ja: い}\n    correct: [a]\n")
    return QUESTION.format(qid=qid, section=section, kind=kind, ja=ja, rest=rest)


@pytest.mark.parametrize("question, detail", [
    (_question(rest="    choices:\n      - {id: a, ja: あ}\n      - {id: b, ja: い}\n"), "missing_correct"),
    (_question(rest="    choices:\n      - {id: a, ja: あ}\n      - {id: b, ja: い}\n    correct: [z]\n"),
     "correct_not_a_choice"),
    (_question(rest="    choices:\n      - {id: a, ja: あ}\n      - {id: b, ja: い}\n    correct: [a, b]\n"),
     "single_many_correct"),
    (_question(section="nowhere"), "unknown_section"),
    (_question(qid="purpose-1"), "duplicate_id"),
    (_question(ja='""'), "missing_text_ja"),
    (_question(kind="essay"), "bad_kind"),
    (_question(rest="    correct: [a]\n    colour: red\n"
                    "    choices:\n      - {id: a, ja: あ}\n      - {id: b, ja: い}\n"),
     "unknown_key"),
    (_question(kind="true_false", rest="    correct: maybe\n"), "true_false_correct"),
])
def test_bad_questions_name_the_question_and_line(question, detail):
    text = quiz_text(extra_question=question)
    _quiz, problems = parse_quiz("quizzes/handbook.yaml", text, "handbook", SECTIONS)
    assert [p.params.get("detail") for p in problems] == [detail]
    problem = problems[0]
    assert problem.code == "quiz_question" and problem.file == "quizzes/handbook.yaml"
    assert problem.params["id"] in ("q-3", "purpose-1")
    lines = text.split("\n")
    start = len(lines) - lines[::-1].index(question.split("\n")[0])  # the added (last) question
    assert start <= problem.line <= start + 7


def test_quiz_level_problems():
    cases = {
        "pass_mark_above_draw": quiz_text(pass_mark=3, draw=2),
        "draw_above_bank": quiz_text(pass_mark=1, draw=3),
    }
    _q, problems = parse_quiz("q.yaml", cases["pass_mark_above_draw"], "handbook", SECTIONS)
    assert [p.code for p in problems] == ["quiz_pass_mark_above_draw"]
    _q, problems = parse_quiz("q.yaml", cases["draw_above_bank"], "handbook", SECTIONS)
    assert [p.code for p in problems] == ["quiz_draw_above_bank"]
    _q, problems = parse_quiz("q.yaml", "manual: handbook\nquestions: [\n", "handbook", SECTIONS)
    assert [p.code for p in problems] == ["yaml_syntax"] and problems[0].line == 3
    _q, problems = parse_quiz("q.yaml", quiz_text() + "colour: red\n", "handbook", SECTIONS)
    assert [(p.code, p.params.get("key")) for p in problems] == [("unknown_key", "colour")]
    _q, problems = parse_quiz("q.yaml", quiz_text(slug="other"), "handbook", SECTIONS)
    assert [p.code for p in problems] == ["quiz_wrong_manual"]


@pytest.mark.parametrize("number, content_hash, published, verdict", [
    (1, "a", {}, "new"),
    (1, "a", {1: "a"}, "published"),
    (1, "b", {1: "a"}, "edited"),
    (2, "b", {1: "a"}, "new"),
    (3, "c", {1: "a", 4: "d"}, "lower"),
    (1, "a", {1: "a", 2: "b"}, "published"),
    (1, "z", {1: "a", 2: "b"}, "lower"),
])
def test_decide_edition(number, content_hash, published, verdict):
    assert decide_edition(number, content_hash, published) == verdict
