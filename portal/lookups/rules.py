"""Pure rules of look-up requests: state transitions, expiry, who may act, personal data in text.

No app, no database: data in, answer out (unit-tested in tests/lookups/test_lookups_rules.py). The purpose
explanation and reason rules are every approval workflow's (portal/approvals/rules.py), so "." or
"ああああ…" is refused here exactly as it is on an access request.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from portal.approvals.rules import explanation_problem, reason_problem  # noqa: F401  (re-exported: same rule)
from portal.core.timeutil import JST

QUESTION_MAX = 2000
REFERENCE_MAX = 60
ANSWER_MAX = 2000
#: Statuses in which the request still waits for someone (and can expire or be withdrawn).
WAITING = ("awaiting_approval", "awaiting_handler")
#: Statuses nothing can change any more.
FINAL = ("refused", "answered", "withdrawn", "expired")
#: Statuses the register can filter on, in workflow order.
STATUS_FILTERS = ("awaiting_approval", "awaiting_handler", "in_progress", "answered", "refused", "withdrawn",
                  "expired")

#: (status now, action) -> status after. Anything not listed is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("awaiting_approval", "approve"): "awaiting_handler",
    ("awaiting_approval", "refuse"): "refused",
    ("awaiting_approval", "withdraw"): "withdrawn",
    ("awaiting_approval", "expire"): "expired",
    ("awaiting_handler", "take"): "in_progress",
    ("awaiting_handler", "withdraw"): "withdrawn",
    ("awaiting_handler", "expire"): "expired",
    ("in_progress", "answer"): "answered",
}
#: The history step each action writes.
EVENT_FOR_ACTION = {"approve": "approved", "refuse": "refused", "withdraw": "withdrawn", "expire": "expired",
                    "take": "taken", "answer": "answered"}


#: How far along the workflow each status is (final statuses are furthest).
_PROGRESS = {"awaiting_approval": 0, "awaiting_handler": 1, "in_progress": 2, **{status: 3 for status in FINAL}}


def moved_past(status: str, action: str) -> bool:
    """True when the request has gone beyond every status `action` starts from (someone acted first)."""
    sources = [before for (before, name) in TRANSITIONS if name == action]
    return bool(sources) and _PROGRESS.get(status, 0) > max(_PROGRESS[before] for before in sources)


def next_status(status: str, action: str) -> str | None:
    """The status after `action`, or None when the action is not possible in `status`."""
    return TRANSITIONS.get((status, action))


def effective_status(status: str, expires_at: datetime, now: datetime) -> str:
    """The status as people should see it: a waiting request past its expiry is expired.

    Once taken, a request no longer expires: the handler is working on it."""
    if status in WAITING and now >= expires_at:
        return "expired"
    return status


def handling_conflict(actor_id: int, requester_id: int, approver_id: int | None) -> str | None:
    """Nobody handles their own request; the manager who approved it does not handle it either
    (approval is the check on the need, so one person must not both allow and carry out a look-up)."""
    if actor_id == requester_id:
        return "own_request"
    if approver_id is not None and actor_id == approver_id:
        return "approver_cannot_handle"
    return None


# --- personal data in free text ------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Japanese telephone numbers: 0 then 9 or 10 digits, optionally split by hyphens, spaces, dots or
# brackets (03-1234-5678, 090 1234 5678, (03)1234-5678, 0120-123-456); also +81 forms.
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+81[\s-]?|0)(?:[\s().-]*\d){9,10}(?![0-9A-Za-z])")
_POSTCODE_ADDRESS = re.compile(r"〒\s*\d{3}-?\d{4}")


def _normalised(text: str) -> str:
    """NFKC: full-width digits and ＠ (what Japanese IMEs type) count as their ASCII forms."""
    normalised = unicodedata.normalize("NFKC", text or "")
    return normalised.replace("ー", "-").replace("‐", "-").replace("−", "-")


def personal_data_problem(text: str) -> str | None:
    """"email", "phone" or "postcode" when free text obviously carries such personal data; else None.

    A deliberate, cheap guard against the common slip (pasting a customer's contact details); it
    cannot recognise a name, which is why the forms also say not to enter one."""
    normalised = _normalised(text)
    if _EMAIL.search(normalised):
        return "email"
    if _PHONE.search(normalised):
        return "phone"
    if _POSTCODE_ADDRESS.search(normalised):
        return "postcode"
    return None


_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/]*")


def reference_problem(text: str) -> str | None:
    """A customer reference or order number is letters, digits and - _ / only (no names), not a phone."""
    value = _normalised(text).strip()
    if not value:
        return None
    if len(value) > REFERENCE_MAX:
        return "reference_too_long"
    problem = personal_data_problem(value)
    if problem:
        return problem
    if not _REFERENCE.fullmatch(value):
        return "reference_invalid"
    return None


def normalised_reference(text: str) -> str:
    """The reference as stored: NFKC (full-width letters and digits become ASCII), trimmed."""
    return _normalised(text).strip()


# --- statistics ----------------------------------------------------------------------------------

#: The longest range the statistics page counts at once.
STATS_MAX_DAYS = 366


def jst_day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in aware datetimes covering the Japan-time days first..last inclusive."""
    return (datetime.combine(first, time(0), tzinfo=JST),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=JST))


def range_problem(first: date | None, last: date | None) -> str | None:
    """Why a statistics date range cannot be used, or None."""
    if first is None or last is None:
        return "range_missing"
    if last < first:
        return "range_reversed"
    if (last - first).days >= STATS_MAX_DAYS:
        return "range_too_long"
    return None


def pivot(rows: list[tuple[str, str, int]]) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """(row keys in first-seen order, column keys in first-seen order, {(row, column): count})."""
    row_keys: dict[str, None] = {}
    column_keys: dict[str, None] = {}
    cells: dict[tuple[str, str], int] = {}
    for row, column, count in rows:
        row_keys.setdefault(row, None)
        column_keys.setdefault(column, None)
        cells[(row, column)] = cells.get((row, column), 0) + count
    return list(row_keys), list(column_keys), cells
