"""Turning training state into what pages show: words, groups, questions, next steps."""
from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import gettext as _, lazy_gettext as _l

from portal.core.i18n import format_jst
from portal.core.labels import StateLabels
from portal.training.quiz import questions_by_id, required_correct
from portal.training.status import TASK_GROUPS, task_group

#: A training status as the learner's pages word it (templates: `training_status_word`).
STATUS_WORDS = StateLabels({
    "not_required": _l("Not required"),
    "not_started": _l("Not started"),
    "in_progress": _l("In progress"),
    "current": _l("Completed"),
    "due": _l("Re-training due"),
    "overdue": _l("Overdue"),
    "expired": _l("Expired"),
})
#: CSS modifier per status: red only where it is an error (overdue, expired).
STATUS_TONES = {"overdue": "error", "expired": "error", "due": "warning", "in_progress": "warning",
                "not_started": "", "current": "ok", "not_required": ""}
GROUP_TITLES = {
    "overdue": _l("Overdue or expired"),
    "due_soon": _l("Due soon"),
    "in_progress": _l("In progress"),
    "not_started": _l("Not started"),
    "current": _l("Completed"),
}


def task_groups(tasks, today: date) -> list[dict]:
    """Tasks grouped by urgency (overdue, due soon, in progress, not started, completed); empty groups left out."""
    grouped: dict[str, list] = {key: [] for key in TASK_GROUPS}
    for task in tasks:
        grouped[task_group(task.status, task.due_date, today)].append(task)
    return [{"key": key, "title": GROUP_TITLES[key], "tasks": grouped[key]} for key in TASK_GROUPS if grouped[key]]


def reason_message(reason: str | None, **details) -> str:
    """Why an action cannot happen now, in the person's language."""
    until = details.get("until")
    messages = {
        "no_edition": _("This manual has no published edition yet."),
        "no_quiz": _("The quiz for this manual has not been published yet. Please ask the training administrators."),
        "attested": _("You have already attested the current edition of this manual."),
        "renewal_needs_edition": _("Your attestation of this edition has expired. You can attest again when the "
                                   "training administrators publish the next edition."),
        "passed": _("You have passed the quiz. The next step is to confirm and attest."),
        "attempts_used": _("You have used every attempt allowed for this edition. "
                           "Please ask the training administrators."),
        "wait": _("You can try the quiz again from %(time)s.", time=format_jst(until)) if until else "",
        "not_passed": _("Pass the quiz on the current edition before you attest."),
        "already_submitted": _("These answers were already submitted. Each attempt is graded once."),
        "edition_changed": _("A new edition was published while you were confirming. Please read it and attest again."),
    }
    return messages.get(reason or "", _("This cannot be done now."))


def next_step(state) -> dict | None:
    """The one button a learner needs next on a manual, or None when there is nothing to do."""
    if state.edition is None:
        return None
    slug = state.manual.slug
    if state.open_attempt is not None:
        return {"kind": "resume", "label": _("Continue the quiz"),
                "url": url_for("training.attempt_page", attempt_id=state.open_attempt.id)}
    if state.passed_attempt is not None and not state.attested_latest:
        return {"kind": "attest", "label": _("Go to the attestation"), "url": url_for("training.attest", slug=slug)}
    if state.blocker is not None:
        return None
    label = _("Start the quiz on the changes") if state.changed_sections else _("Start the quiz")
    return {"kind": "start", "label": label, "url": url_for("training.start_quiz", slug=slug)}


def _text(value: dict, locale: str) -> str:
    return (value.get(locale) or value.get("ja") or "") if isinstance(value, dict) else str(value or "")


def attempt_questions(attempt, locale: str, answers: dict, missing) -> list[dict]:
    """The drawn questions as shown before submission: text and choices only, never the key."""
    bank = questions_by_id(attempt.quiz_version.spec)
    shown = []
    for number, drawn in enumerate(attempt.drawn, start=1):
        question = bank[drawn["id"]]
        choices = {choice["id"]: choice for choice in question["choices"]}
        shown.append({
            "id": drawn["id"], "number": number, "multiple": question["kind"] == "multiple",
            "text": _text(question["text"], locale),
            "choices": [{"id": cid, "text": _text(choices[cid], locale),
                         "checked": cid in answers.get(drawn["id"], ())} for cid in drawn["choices"]],
            "error": _("Choose at least one answer to question %(number)s.", number=number)
            if question["kind"] == "multiple" and drawn["id"] in missing
            else (_("Choose an answer to question %(number)s.", number=number) if drawn["id"] in missing else None),
        })
    return shown


def graded_questions(attempt, locale: str) -> list[dict]:
    """After submission: each question with the learner's answer, the right one and why."""
    bank = questions_by_id(attempt.quiz_version.spec)
    answers = attempt.answers
    graded = []
    for number, drawn in enumerate(attempt.drawn, start=1):
        question = bank[drawn["id"]]
        choices = {choice["id"]: choice for choice in question["choices"]}
        chosen = answers.get(drawn["id"], [])
        right = set(question["correct"])
        graded.append({
            "number": number, "text": _text(question["text"], locale),
            "correct": bool(chosen) and set(chosen) == right,
            "chosen": [_text(choices[c], locale) for c in drawn["choices"] if c in chosen],
            "right": [_text(choices[c], locale) for c in drawn["choices"] if c in right],
            "explanation": _text(question.get("explanation") or {}, locale),
        })
    return graded


def pass_needed(attempt) -> int:
    """Correct answers this attempt needed to pass."""
    return required_correct(attempt.quiz_version.spec, attempt.question_count)


def quiz_rules(state) -> dict | None:
    """What the next attempt will be like: questions, pass mark, time limit, attempts left."""
    spec = state.spec
    if not spec:
        return None
    questions = spec["questions"]
    pool = len(questions)
    if state.changed_sections:
        ids = {section["id"] for section in state.changed_sections}
        pool = len([q for q in questions if q["section"] in ids])
    count = min(int(spec.get("draw") or pool), pool)
    return {"questions": count, "pass_mark": required_correct(spec, count),
            "time_limit": spec.get("time_limit_minutes"), "attempts_left": state.attempts_left,
            "attempts_allowed": int(spec.get("attempts_allowed") or 0), "wait": int(spec.get("wait_minutes") or 0)}
