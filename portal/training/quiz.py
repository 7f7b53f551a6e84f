"""Drawing and grading quizzes as pure functions; the answer key never leaves the server.

A spec is QuizVersion.spec_json as the manuals feature validated it:
{"pass_mark" (correct answers needed out of "draw"), "draw" (questions per attempt), "shuffle",
 "attempts_allowed" (0: unlimited), "wait_minutes", "time_limit_minutes" (or None),
 "retrain": "changed_sections" | "full",
 "questions": [{"id", "section", "kind", "text", "choices": [{"id", "ja", "en"}], "correct", "explanation"}]}
"""
from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

FULL = "full"
CHANGED_SECTIONS = "changed_sections"
SINGLE_ANSWER_KINDS = ("single", "true_false")


@dataclass(frozen=True)
class DrawnQuestion:
    """A question as drawn for one attempt: its id and the order its choices are shown in."""

    id: str
    choice_ids: tuple[str, ...]


@dataclass(frozen=True)
class QuestionResult:
    """How one drawn question was answered."""

    id: str
    chosen: tuple[str, ...]
    correct: bool


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one attempt."""

    score: int
    total: int
    passed: bool
    results: tuple[QuestionResult, ...]


def questions_by_id(spec: Mapping) -> dict[str, dict]:
    """The spec's questions keyed by id."""
    return {question["id"]: question for question in spec["questions"]}


def changed_section_ids(old_sections: Iterable[Mapping], new_sections: Iterable[Mapping]) -> list[str]:
    """Ids of sections of the new edition that are new or whose hash differs from the old edition."""
    old_hashes = {section["id"]: section.get("hash") for section in old_sections}
    return [s["id"] for s in new_sections if old_hashes.get(s["id"], object()) != s.get("hash")]


def draw(spec: Mapping, rng: random.Random, sections: Collection[str] | None = None) -> tuple[list[DrawnQuestion], str]:
    """Pick the attempt's questions and their order; returns (drawn, mode).

    With `sections` (re-training) only questions on those sections are drawn; when no
    question covers them the full quiz is drawn instead.
    """
    pool = list(spec["questions"])
    mode = FULL
    if sections is not None:
        focused = [question for question in pool if question["section"] in set(sections)]
        if focused:
            pool, mode = focused, CHANGED_SECTIONS
    count = min(spec.get("draw") or len(pool), len(pool))
    positions = rng.sample(range(len(pool)), count)
    if not spec.get("shuffle"):
        positions.sort()  # a subset, but in the file's order
    drawn = []
    for position in positions:
        question = pool[position]
        choice_ids = [choice["id"] for choice in question["choices"]]
        if spec.get("shuffle") and question["kind"] != "true_false":
            rng.shuffle(choice_ids)
        drawn.append(DrawnQuestion(question["id"], tuple(choice_ids)))
    return drawn, mode


def clean_answers(drawn: Sequence[DrawnQuestion], posted: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Keep only offered choices of drawn questions; anything else a client posts is ignored."""
    answers = {}
    for question in drawn:
        offered = set(question.choice_ids)
        chosen = [value for value in dict.fromkeys(posted.get(question.id, ())) if value in offered]
        answers[question.id] = chosen
    return answers


def unanswered(drawn: Sequence[DrawnQuestion], answers: Mapping[str, Sequence[str]]) -> list[str]:
    """Ids of drawn questions with no choice selected."""
    return [question.id for question in drawn if not answers.get(question.id)]


def grade(spec: Mapping, drawn: Sequence[DrawnQuestion], answers: Mapping[str, Sequence[str]]) -> Grade:
    """Score the answers against the key: a question is right when exactly the correct choices are chosen."""
    bank = questions_by_id(spec)
    results = []
    for question in drawn:
        chosen = tuple(answers.get(question.id, ()))
        right = set(bank[question.id]["correct"])
        results.append(QuestionResult(question.id, chosen, bool(chosen) and set(chosen) == right))
    score = sum(result.correct for result in results)
    total = len(results)
    passed = total > 0 and score >= required_correct(spec, total)
    return Grade(score=score, total=total, passed=passed, results=tuple(results))


def required_correct(spec: Mapping, total: int) -> int:
    """Correct answers needed to pass `total` drawn questions.

    pass_mark counts out of the full draw; a shorter re-training quiz (changed sections only)
    needs the same proportion, rounded up, and at least one.
    """
    full = int(spec.get("draw") or len(spec["questions"]))
    mark = int(spec.get("pass_mark") or full)
    if total >= full:
        return min(mark, total)
    return min(total, max(1, math.ceil(mark * total / full)))
