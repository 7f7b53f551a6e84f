"""Problems found in manual and quiz files, and their wording in the reader's language."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _


@dataclass(frozen=True)
class Problem:
    """A problem in one file (at a line where there is one); code and params become words in describe()."""

    file: str
    line: int | None
    code: str
    params: dict = field(default_factory=dict)

    def where(self) -> str:
        """file:line, or the file alone."""
        return f"{self.file}:{self.line}" if self.line else self.file


class PublishRefused(Exception):
    """Publishing cannot go ahead; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _texts(p: dict) -> dict[str, str]:
    return {
        "not_utf8": _("the file is not valid UTF-8 text"),
        "no_front_matter": _("the file must start with front matter between two lines of ---"),
        "front_matter_unclosed": _("the front matter has no closing --- line"),
        "yaml_syntax": _("the YAML cannot be read: %(detail)s", detail=p.get("detail", "")),
        "not_a_mapping": _("the YAML must be a mapping of keys to values"),
        "duplicate_key": _("the key %(key)s appears twice", key=p.get("key", "")),
        "unknown_key": _("unknown key %(key)s", key=p.get("key", "")),
        "missing_key": _("%(key)s is missing", key=p.get("key", "")),
        "bad_value": _("%(key)s: %(expected)s", key=p.get("key", ""), expected=p.get("expected", "")),
        "bad_slug": _("slug %(value)s may only contain a-z, 0-9 and '-' (start with a letter or digit)",
                      value=p.get("value", "")),
        "empty_body": _("the manual has no text after the front matter"),
        "no_sections": _("the manual needs at least one section (a ## heading)"),
        "duplicate_section_id": _("the section id %(id)s is used twice", id=p.get("id", "")),
        "unknown_department": _("audience: unknown department code %(value)s", value=p.get("value", "")),
        "unknown_kind": _("audience: unknown department kind %(value)s (use internal or agency)",
                          value=p.get("value", "")),
        "unknown_role": _("audience: unknown role %(value)s", value=p.get("value", "")),
        "empty_audience": _("audience names nobody: use everyone, or list departments, kinds or roles"),
        "missing_summary": _("edition %(number)s needs a change_summary (ja)", number=p.get("number", "")),
        "first_edition_minor": _("edition %(number)s is the first published edition of %(slug)s and must be material",
                                 number=p.get("number", ""), slug=p.get("slug", "")),
        "duplicate_slug": _("slug %(slug)s is also used by %(other)s", slug=p.get("slug", ""),
                            other=p.get("other", "")),
        "folder_mixed_slugs": _("slug %(slug)s differs from %(other)s in the same folder (%(other_file)s)",
                                slug=p.get("slug", ""), other=p.get("other", ""), other_file=p.get("other_file", "")),
        "duplicate_edition": _("edition %(number)s is also in %(other)s", number=p.get("number", ""),
                               other=p.get("other", "")),
        "lower_edition": _("edition %(number)s is lower than the published edition %(latest)s of %(slug)s: "
                           "publish changes with an edition number above %(latest)s",
                           number=p.get("number", ""), latest=p.get("latest", ""), slug=p.get("slug", "")),
        "edited_edition": _("edition %(number)s of %(slug)s is already published with different text: "
                            "raise the edition number to publish a change",
                            number=p.get("number", ""), slug=p.get("slug", "")),
        "missing_quiz": _("the quiz file %(quiz)s does not exist", quiz=p.get("quiz", "")),
        "bad_quiz_name": _("quiz must be a file name in the quizzes folder, not %(quiz)s", quiz=p.get("quiz", "")),
        "quiz_changed_without_edition": _("the quiz of %(slug)s changed but the manual has no new edition: "
                                          "publish quiz changes with a new edition (minor if the text is unchanged)",
                                          slug=p.get("slug", "")),
        "quiz_wrong_manual": _("manual is %(value)s but the quiz belongs to %(slug)s",
                               value=p.get("value", ""), slug=p.get("slug", "")),
        "quiz_question": _("question %(id)s: %(text)s", id=p.get("id", ""), text=p.get("text", "")),
        "quiz_no_questions": _("the quiz has no questions"),
        "quiz_pass_mark_above_draw": _("pass_mark %(pass_mark)s is more than draw %(draw)s",
                                       pass_mark=p.get("pass_mark", ""), draw=p.get("draw", "")),
        "quiz_draw_above_bank": _("draw %(draw)s is more than the %(count)s questions in the file",
                                  draw=p.get("draw", ""), count=p.get("count", "")),
        "no_manuals": _("no manual files (*.md) were found"),
        "folder_missing": _("the folder does not exist"),
    }


def _question_texts(p: dict) -> dict[str, str]:
    return {
        "duplicate_id": _("the id is used twice"),
        "bad_id": _("the id may only contain a-z, 0-9 and '-'"),
        "unknown_section": _("section %(section)s is not a section of the manual", section=p.get("section", "")),
        "bad_kind": _("kind must be single, multiple or true_false"),
        "missing_text_ja": _("text.ja is missing"),
        "missing_correct": _("correct is missing"),
        "correct_not_a_choice": _("correct answer %(choice)s is not among the choices", choice=p.get("choice", "")),
        "single_many_correct": _("a single-choice question has more than one correct answer"),
        "too_few_choices": _("needs at least two choices"),
        "duplicate_choice": _("choice %(choice)s is listed twice", choice=p.get("choice", "")),
        "missing_choice_ja": _("choice %(choice)s has no ja text", choice=p.get("choice", "")),
        "true_false_choices": _("a true_false question has no choices; correct is true or false"),
        "true_false_correct": _("correct must be true or false"),
        "unknown_key": _("unknown key %(key)s", key=p.get("key", "")),
    }


def _expected_texts() -> dict[str, str]:
    return {
        "whole_number": _("must be a whole number of 0 or more"),
        "positive_number": _("must be a whole number of 1 or more"),
        "number_or_empty": _("must be a whole number of 1 or more, or empty for no expiry"),
        "date": _("must be a date written as YYYY-MM-DD"),
        "change_kind": _("must be material or minor"),
        "text": _("must be text"),
        "true_false": _("must be true or false"),
        "list": _("must be a list"),
        "ja_en": _("must be a mapping with ja (and en) text"),
        "retrain": _("must be changed_sections or full"),
        "audience": _("must be everyone, or a mapping with departments, kinds and roles"),
    }


def describe(problem: Problem) -> str:
    """One line such as "manuals/x.md:4: unknown key colour"."""
    return f"{problem.where()}: {message(problem)}"


def message(problem: Problem) -> str:
    """What is wrong, in the reader's language (without the place)."""
    params = dict(problem.params)
    if "expected" in params:
        params["expected"] = _expected_texts().get(params["expected"], params["expected"])
    if problem.code == "quiz_question":
        params["text"] = _question_texts(params).get(params.get("detail", ""), params.get("detail", ""))
    return _texts(params).get(problem.code, problem.code)
