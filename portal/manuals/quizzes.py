"""Quiz files (quizzes/<slug>.yaml): checked and normalised into the bank stored with an edition."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from portal.manuals.problems import Problem
from portal.manuals.sources import text_hash
from portal.manuals.yamltools import LocatedYaml, YamlSyntaxError, duplicate_keys, load_located

TOP_KEYS = {"manual", "pass_mark", "draw", "shuffle", "attempts_allowed", "wait_minutes", "time_limit_minutes",
            "retrain", "questions"}
QUESTION_KEYS = {"id", "section", "kind", "text", "choices", "correct", "explanation"}
KINDS = ("single", "multiple", "true_false")
RETRAIN = ("changed_sections", "full")
ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
TRUE_FALSE_CHOICES = [{"id": "true", "ja": "正しい", "en": "True"}, {"id": "false", "ja": "誤り", "en": "False"}]


@dataclass(frozen=True)
class QuizSource:
    """A checked quiz file: its text, hash and normalised bank."""

    file: str
    text: str
    content_hash: str
    spec: dict

    @property
    def spec_json(self) -> str:
        """The bank as canonical JSON (what QuizVersion.spec_json stores)."""
        return json.dumps(self.spec, ensure_ascii=False, sort_keys=True)


class _QuizChecker:
    def __init__(self, file: str, doc: LocatedYaml):
        self.file, self.doc, self.problems = file, doc, []

    def top(self, code: str, *path, **params) -> None:
        self.problems.append(Problem(self.file, self.doc.line(*path) if path else None, code, params))

    def question(self, qid: str, detail: str, *path, **params) -> None:
        line = self.doc.line("questions", *path)
        self.problems.append(Problem(self.file, line, "quiz_question", {"id": qid, "detail": detail, **params}))

    def number(self, data: dict, key: str, default, minimum: int, expected: str, optional: bool = False):
        value = data.get(key, default)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.top("bad_value", key, key=key, expected=expected)
            return default if isinstance(default, int) else 0
        return value


def _ja_en(value) -> dict | None:
    """{"ja", "en"} from a mapping (en may be empty); None when the shape is wrong."""
    if isinstance(value, str):
        return {"ja": value.strip(), "en": ""}
    if not isinstance(value, dict):
        return None
    return {"ja": str(value.get("ja") or "").strip(), "en": str(value.get("en") or "").strip()}


def _check_question(check: _QuizChecker, index: int, raw, seen: set[str], sections: set[str]) -> dict | None:
    if not isinstance(raw, dict):
        check.question(f"#{index + 1}", "bad_kind", index)
        return None
    qid = str(raw.get("id") or f"#{index + 1}")
    problems_before = len(check.problems)
    for extra in sorted(set(map(str, raw)) - QUESTION_KEYS):
        check.question(qid, "unknown_key", index, extra, key=extra)
    if not ID.match(qid):
        check.question(qid, "bad_id", index, "id")
    elif qid in seen:
        check.question(qid, "duplicate_id", index, "id")
    seen.add(qid)
    section = str(raw.get("section") or "")
    if section not in sections:
        check.question(qid, "unknown_section", index, "section", section=section)
    kind = raw.get("kind")
    if kind not in KINDS:
        check.question(qid, "bad_kind", index, "kind")
        return None
    text = _ja_en(raw.get("text"))
    if not text or not text["ja"]:
        check.question(qid, "missing_text_ja", index, "text")
    explanation = _ja_en(raw.get("explanation")) or {"ja": "", "en": ""}
    if kind == "true_false":
        choices, correct = TRUE_FALSE_CHOICES, raw.get("correct")
        if raw.get("choices"):
            check.question(qid, "true_false_choices", index, "choices")
        if not isinstance(correct, bool):
            check.question(qid, "true_false_correct" if "correct" in raw else "missing_correct", index, "correct")
        correct = ["true" if correct else "false"]
    else:
        choices = _check_choices(check, qid, index, raw.get("choices"))
        correct = raw.get("correct")
        correct = [correct] if isinstance(correct, str) else correct
        if not correct or not isinstance(correct, list):
            check.question(qid, "missing_correct", index, "correct")
            correct = []
        correct = [str(c) for c in correct]
        ids = {c["id"] for c in choices}
        for choice in correct:
            if choice not in ids:
                check.question(qid, "correct_not_a_choice", index, "correct", choice=choice)
        if kind == "single" and len(set(correct)) > 1:
            check.question(qid, "single_many_correct", index, "correct")
    if len(check.problems) > problems_before:
        return None
    return {"id": qid, "section": section, "kind": kind, "text": text, "choices": choices,
            "correct": sorted(set(correct)), "explanation": explanation}


def _check_choices(check: _QuizChecker, qid: str, index: int, raw) -> list[dict]:
    if not isinstance(raw, list) or len(raw) < 2:
        check.question(qid, "too_few_choices", index, "choices")
        return []
    choices, seen = [], set()
    for position, item in enumerate(raw):
        cid = str(item.get("id") or "") if isinstance(item, dict) else ""
        if not ID.match(cid):
            check.question(qid, "bad_id", index, "choices", position)
            continue
        if cid in seen:
            check.question(qid, "duplicate_choice", index, "choices", position, choice=cid)
        seen.add(cid)
        ja, en = str(item.get("ja") or "").strip(), str(item.get("en") or "").strip()
        if not ja:
            check.question(qid, "missing_choice_ja", index, "choices", position, choice=cid)
        choices.append({"id": cid, "ja": ja, "en": en})
    return choices


def parse_quiz(file: str, text: str, slug: str, section_ids: set[str]) -> tuple[QuizSource | None, list[Problem]]:
    """Check a quiz file against its manual's slug and h2 section ids; usable only without problems."""
    try:
        doc = load_located(text)
    except YamlSyntaxError as error:
        return None, [Problem(file, error.line, "yaml_syntax", {"detail": error.detail})]
    if not isinstance(doc.data, dict):
        return None, [Problem(file, 1, "not_a_mapping")]
    check = _QuizChecker(file, doc)
    check.problems.extend(Problem(file, line, "duplicate_key", {"key": key}) for key, line in duplicate_keys(doc.root))
    data = doc.data
    for extra in sorted(set(map(str, data)) - TOP_KEYS):
        check.problems.append(Problem(file, doc.key_line(extra), "unknown_key", {"key": extra}))
    if data.get("manual") != slug:
        check.top("quiz_wrong_manual", "manual", value=str(data.get("manual", "")), slug=slug)
    draw = check.number(data, "draw", None, 1, "positive_number")
    pass_mark = check.number(data, "pass_mark", None, 1, "positive_number")
    attempts = check.number(data, "attempts_allowed", 0, 0, "whole_number")
    wait = check.number(data, "wait_minutes", 0, 0, "whole_number")
    time_limit = check.number(data, "time_limit_minutes", None, 1, "positive_number", optional=True)
    shuffle = data.get("shuffle", True)
    if not isinstance(shuffle, bool):
        check.top("bad_value", "shuffle", key="shuffle", expected="true_false")
    retrain = data.get("retrain", "full")
    if retrain not in RETRAIN:
        check.top("bad_value", "retrain", key="retrain", expected="retrain")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        check.top("quiz_no_questions", "questions")
        raw_questions = []
    seen: set[str] = set()
    questions = [_check_question(check, i, q, seen, section_ids) for i, q in enumerate(raw_questions)]
    if isinstance(draw, int) and isinstance(pass_mark, int) and pass_mark > draw:
        check.top("quiz_pass_mark_above_draw", "pass_mark", pass_mark=pass_mark, draw=draw)
    if isinstance(draw, int) and raw_questions and draw > len(raw_questions):
        check.top("quiz_draw_above_bank", "draw", draw=draw, count=len(raw_questions))
    if check.problems:
        return None, check.problems
    spec = {"pass_mark": pass_mark, "draw": draw, "shuffle": shuffle, "attempts_allowed": attempts,
            "wait_minutes": wait, "time_limit_minutes": time_limit, "retrain": retrain, "questions": questions}
    return QuizSource(file=file, text=text, content_hash=text_hash(text), spec=spec), []
