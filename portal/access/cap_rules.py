"""Pure rules of the standing cap and of grant states as people see them (no app, no database).

A department's cap is a share of its active headcount (rounded down) or a number of people. A grant
comes into force only when the cap has room and no older grant of the department waits for it;
otherwise it waits (空き待ち), unless a grant owner overrides the cap with a reason. Grant states
read anywhere apply the clock: a live grant past its end is expired at once, job or no job.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, case

from portal.access.decision import AccessFacts, Decision, decide_access

#: States in which a grant is still alive (not revoked, not expired).
LIVE_STATES = ("in_force", "suspended", "waiting_for_room")
#: Admission outcomes.
ADMITTED, WAITS, OVERRIDDEN = "admitted", "waits", "overridden"


@dataclass(frozen=True)
class CapSpec:
    """A department's cap: a percentage of its headcount or a number of people (exactly one)."""

    percent: int | None = None
    people: int | None = None

    def limit(self, headcount: int) -> int:
        """How many people may hold a grant in force."""
        if self.people is not None:
            return self.people
        return math.floor(headcount * (self.percent or 0) / 100)

    def text(self) -> str:
        """The cap as written in the caps form: 52% or 3人."""
        return f"{self.people}人" if self.people is not None else f"{self.percent}%"


_CAP_VALUE = re.compile(r"^(\d{1,6})\s*(%|人|people|person|名)?$", re.IGNORECASE)


def parse_cap_value(text: str) -> CapSpec | None:
    """"52", "52%" → 52 percent; "3人", "3 people", "3名" → 3 people; None when not a cap."""
    normalised = unicodedata.normalize("NFKC", text or "").strip()
    matched = _CAP_VALUE.match(normalised)
    if matched is None:
        return None
    number, unit = int(matched.group(1)), (matched.group(2) or "%").lower()
    if unit == "%":
        return CapSpec(percent=number) if number <= 100 else None
    return CapSpec(people=number)


def admission(limit: int | None, in_force_others: int, older_waiting: int, override: bool) -> str:
    """May a grant come into force now? ADMITTED, WAITS (no room, or older grants wait), or OVERRIDDEN."""
    if limit is None:
        return ADMITTED
    if older_waiting == 0 and in_force_others + 1 <= limit:
        return ADMITTED
    return OVERRIDDEN if override else WAITS


def room(limit: int | None, in_force: int) -> int | None:
    """Free places under the cap (None: no cap)."""
    return None if limit is None else max(limit - in_force, 0)


def unexplained_excess(limit: int | None, in_force: int, overridden: int) -> int:
    """Holders in force beyond the cap that no recorded override explains (HR changes shrank the department)."""
    if limit is None:
        return 0
    return max(in_force - overridden - limit, 0)


def effective_grant_state(state: str, expires_at: datetime, now: datetime) -> str:
    """The state people should see now: a live grant past its end is expired, whatever is stored."""
    if state in LIVE_STATES and now >= expires_at:
        return "expired"
    return state


def effective_state_sql(state_column, expires_column, now: datetime):
    """effective_grant_state as a SQL expression (the same rule for filters and counts)."""
    return case((and_(state_column.in_(LIVE_STATES), expires_column <= now), "expired"), else_=state_column)


def decision_in_state(facts: AccessFacts, decision: Decision, state: str, now: datetime) -> Decision:
    """The decision again when the grant's waiting for room differs from what the facts assumed; else as it was."""
    if facts.grant is None:
        return decision
    waiting = state == "waiting_for_room"
    if waiting == facts.grant.waiting_for_room:
        return decision
    return decide_access(replace(facts, grant=replace(facts.grant, waiting_for_room=waiting)), now)
