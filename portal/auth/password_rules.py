"""The password rules, as one pure function, and their words for the form.

A password must have at least 12 characters (at most 128), must not contain the person's employee
number or name (with or without spaces, nor the kana reading, in hiragana or katakana), and must
be hard to guess: zxcvbn (Dropbox's estimator) scores it 3 or more out of 4, knowing the person's
employee number, name and e-mail address.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

MIN_LENGTH = 12
#: zxcvbn's time grows quickly with length; nobody types more than this.
MAX_LENGTH = 128
#: zxcvbn score 0-4: 3 is "safely unguessable: moderate protection from offline slow-hash attacks".
MIN_SCORE = 3
#: Employee numbers and name parts shorter than this match too many words to forbid.
MIN_PART = 2

_SPACES = re.compile(r"[\s\u3000]+")

#: What each rule says when it fails (Japanese in the ja catalogue).
MESSAGES = {
    "too_short": _l("Use at least 12 characters."),
    "too_long": _l("Use at most 128 characters."),
    "contains_employee_no": _l("Do not use your employee number in the password."),
    "contains_name": _l("Do not use your name (or its reading) in the password."),
    "too_weak": _l("This password is too easy to guess. Make it longer, or use several unrelated words."),
}


@dataclass(frozen=True)
class Holder:
    """Who the password is for: what it must not contain, and what a guesser would try first."""

    employee_no: str = ""
    name: str = ""
    name_kana: str = ""
    email: str = ""


def _fold(text: str) -> str:
    """Compare like a person reads: full-width = half-width, case ignored."""
    return unicodedata.normalize("NFKC", text).casefold()


def _katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


def _hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in text)


def name_variants(holder: Holder) -> set[str]:
    """The name and reading as one might type them: each part, all parts joined, hiragana and katakana."""
    variants: set[str] = set()
    for text in (holder.name, holder.name_kana):
        folded = _fold(text)
        parts = [part for part in _SPACES.split(folded) if part]
        for candidate in [*parts, "".join(parts)]:
            for form in (candidate, _katakana(candidate), _hiragana(candidate)):
                if len(form) >= MIN_PART:
                    variants.add(form)
    return variants


def _guesser_inputs(holder: Holder) -> list[str]:
    inputs = [holder.employee_no, holder.email, holder.email.partition("@")[0], *name_variants(holder)]
    return [_fold(value) for value in inputs if value]


def password_problems(password: str, holder: Holder) -> list[str]:
    """Which rules the password breaks (codes of MESSAGES, in order); empty when it is good."""
    if len(password) < MIN_LENGTH:
        problems = ["too_short"]
    elif len(password) > MAX_LENGTH:
        return ["too_long"]
    else:
        problems = []
    folded = _fold(password)
    employee_no = _fold(holder.employee_no.strip())
    if len(employee_no) >= MIN_PART and employee_no in folded:
        problems.append("contains_employee_no")
    if any(variant in folded for variant in name_variants(holder)):
        problems.append("contains_name")
    if not problems and zxcvbn(password, user_inputs=_guesser_inputs(holder))["score"] < MIN_SCORE:
        problems.append("too_weak")
    return problems


def holder_of(person) -> Holder:
    """The Holder of a Person (or anything with the same attributes)."""
    return Holder(employee_no=person.employee_no or "", name=person.name or "",
                  name_kana=person.name_kana or "", email=person.email or "")


def problem_messages(problems: list[str]) -> list[str]:
    """The problems in the reader's language, for the form field."""
    return [str(MESSAGES[code]) for code in problems]
