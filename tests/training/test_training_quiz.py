"""Drawing and grading quizzes: pure functions, no app or database."""
from __future__ import annotations

import random

from portal.training.quiz import (
    DrawnQuestion,
    changed_section_ids,
    clean_answers,
    draw,
    grade,
    required_correct,
    unanswered,
)
from tests.training_fixtures import SECTIONS_V1, quiz_spec, section

KEY = {"q-purpose": ["b"], "q-rules-many": ["a", "c"], "q-rules-tf": ["false"], "q-audit": ["d"]}


def _drawn(spec) -> list[DrawnQuestion]:
    return [DrawnQuestion(q["id"], tuple(c["id"] for c in q["choices"])) for q in spec["questions"]]


def test_draw_takes_the_configured_number_in_a_random_order():
    spec = quiz_spec(draw=3)
    orders = {tuple(q.id for q in draw(spec, random.Random(seed))[0]) for seed in range(30)}
    assert all(len(order) == 3 for order in orders)
    assert len(orders) > 5


def test_without_shuffle_questions_and_choices_keep_the_file_order():
    spec = quiz_spec(shuffle=False)
    drawn, mode = draw(spec, random.Random(1))
    assert [q.id for q in drawn] == [q["id"] for q in spec["questions"]]
    assert drawn[0].choice_ids == ("a", "b", "c", "d")
    assert mode == "full"


def test_true_false_choices_are_never_shuffled():
    for seed in range(20):
        drawn, _ = draw(quiz_spec(), random.Random(seed))
        assert next(q for q in drawn if q.id == "q-rules-tf").choice_ids == ("true", "false")


def test_retraining_draws_only_questions_on_changed_sections():
    drawn, mode = draw(quiz_spec(), random.Random(3), sections=["rules"])
    assert mode == "changed_sections"
    assert sorted(q.id for q in drawn) == ["q-rules-many", "q-rules-tf"]


def test_retraining_falls_back_to_the_full_quiz_when_no_question_covers_the_change():
    drawn, mode = draw(quiz_spec(), random.Random(3), sections=["appendix"])
    assert mode == "full"
    assert len(drawn) == 4


def test_changed_sections_are_those_new_or_with_a_different_hash():
    new = [SECTIONS_V1[0], section("rules", "遵守事項", version=2), SECTIONS_V1[2], section("faq", "よくある質問")]
    assert changed_section_ids(SECTIONS_V1, new) == ["rules", "faq"]


def test_all_right_passes_and_exactly_the_pass_mark_passes():
    spec = quiz_spec()
    drawn = _drawn(spec)
    assert grade(spec, drawn, KEY).passed
    three = {**KEY, "q-audit": ["a"]}
    result = grade(spec, drawn, three)
    assert (result.score, result.total, result.passed) == (3, 4, True)
    two = {**three, "q-purpose": ["a"]}
    assert not grade(spec, drawn, two).passed


def test_multiple_choice_needs_exactly_the_right_set():
    spec = quiz_spec()
    drawn = _drawn(spec)
    for chosen in (["a"], ["a", "c", "d"], ["c", "a"]):
        result = grade(spec, drawn, {**KEY, "q-rules-many": chosen})
        right = next(r for r in result.results if r.id == "q-rules-many").correct
        assert right == (sorted(chosen) == ["a", "c"])


def test_a_single_answer_question_with_two_choices_posted_is_wrong():
    spec = quiz_spec()
    result = grade(spec, _drawn(spec), {**KEY, "q-purpose": ["a", "b"]})
    assert not next(r for r in result.results if r.id == "q-purpose").correct


def test_clean_answers_keeps_only_offered_choices_of_drawn_questions():
    drawn = [DrawnQuestion("q-purpose", ("a", "b")), DrawnQuestion("q-audit", ("c", "d"))]
    posted = {"q-purpose": ["b", "zzz", "b"], "q-audit": ["d"], "q-rules-tf": ["false"], "score": ["4"]}
    assert clean_answers(drawn, posted) == {"q-purpose": ["b"], "q-audit": ["d"]}


def test_unanswered_lists_questions_without_a_choice():
    drawn = [DrawnQuestion("q1", ("a",)), DrawnQuestion("q2", ("a",))]
    assert unanswered(drawn, {"q1": ["a"], "q2": []}) == ["q2"]


def test_a_shorter_retraining_quiz_needs_the_same_share_rounded_up():
    spec = quiz_spec(pass_mark=3, draw=4)
    assert required_correct(spec, 4) == 3
    assert required_correct(spec, 2) == 2  # 1.5 rounded up
    assert required_correct(quiz_spec(pass_mark=1, draw=4), 1) == 1
