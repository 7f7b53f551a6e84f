"""Pure rules of the access workflow: caps, request expiry, who may act (what counts as a purpose or a
reason is every approval workflow's rule: portal/approvals/rules.py)."""
from __future__ import annotations

import math
from datetime import datetime


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
