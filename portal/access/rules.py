"""Pure rules of the access workflow: what counts as a purpose, caps, request expiry, who may act."""
from __future__ import annotations

import math
import unicodedata
from datetime import datetime

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


def cap_limit(headcount: int, cap_percent: int) -> int:
    """How many people of a department may hold a grant in force under a cap (rounded down)."""
    return math.floor(headcount * cap_percent / 100)


def cap_allows(in_force: int, headcount: int, cap_percent: int | None) -> bool:
    """True when one more grant in force (in_force + 1) stays within the cap; no cap allows all."""
    if cap_percent is None:
        return True
    return in_force + 1 <= cap_limit(headcount, cap_percent)


def effective_request_status(status: str, expires_at: datetime, now: datetime) -> str:
    """The status as people should see it: an undecided request past its expiry is expired."""
    if status in ("awaiting_approval", "awaiting_grant", "awaiting_training") and now >= expires_at:
        return "expired"
    return status


def conflict_of_interest(actor_id: int, requester_id: int, approver_id: int | None) -> str | None:
    """Nobody decides their own request; the approver cannot also be the granter."""
    if actor_id == requester_id:
        return "own_request"
    if approver_id is not None and actor_id == approver_id:
        return "approver_cannot_grant"
    return None
