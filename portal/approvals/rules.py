"""Pure rules of every approval workflow: what counts as an explanation of purpose, and as a reason.

No app, no database: text in, a problem code (or None) out. "." or "ああああ…" is refused alike on an
access request and on a look-up request.
"""
from __future__ import annotations

import unicodedata

#: An explanation needs this many letters or digits ("." is not a purpose).
MIN_EXPLANATION_CHARS = 20
#: ...and this many different ones ("ああああ…" is not a purpose either).
MIN_DISTINCT_CHARS = 5
#: A reason for refusing, revoking or overriding needs this many letters or digits.
MIN_REASON_CHARS = 4


def _meaningful(text: str) -> list[str]:
    """Letters and digits only, after NFKC (full-width and half-width count alike)."""
    normalised = unicodedata.normalize("NFKC", text or "")
    return [ch for ch in normalised if unicodedata.category(ch)[0] in ("L", "N")]


def explanation_problem(text: str) -> str | None:
    """Why an explanation of purpose is not acceptable (a code), or None when it is."""
    chars = _meaningful(text)
    if not chars:
        return "explanation_empty"
    if len(chars) < MIN_EXPLANATION_CHARS:
        return "explanation_too_short"
    if len(set(chars)) < MIN_DISTINCT_CHARS:
        return "explanation_repetitive"
    return None


def reason_problem(text: str) -> str | None:
    """Why a decision reason is not acceptable (a code), or None when it is."""
    return "reason_too_short" if len(_meaningful(text)) < MIN_REASON_CHARS else None
