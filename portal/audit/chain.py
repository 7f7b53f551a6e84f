"""The audit chain as pure functions: canonical form, hashing and verification."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

GENESIS_HASH = "0" * 64

#: Kinds of break, so pages can explain them in the reader's language.
MISSING = "missing"
LINK = "link"
EDITED = "edited"


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    """Serialise an event's fields the one way the hash is computed over."""
    return json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_encode
    ).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds") + "Z"
    raise TypeError(f"cannot serialise {type(value).__name__} in an audit event")


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical form (which includes the previous hash)."""
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """The first place the chain does not hold."""

    seq: int
    reason: str
    kind: str = EDITED


@dataclass(frozen=True)
class ChainReport:
    """What a verification saw: events that held, the last good hash, and the first problem."""

    verified: int
    last_seq: int
    last_hash: str
    problem: ChainProblem | None

    @property
    def intact(self) -> bool:
        """True when no problem was found."""
        return self.problem is None


def check_chain(events: Iterable[tuple[int, dict[str, Any], str]]) -> ChainReport:
    """Check (seq, fields, stored_hash) in seq order; stop at the first problem.

    Catches an edited row (hash differs), a deleted row (gap in seq) and reordering
    or an edited row whose hash was recomputed (prev_hash does not name the event before).
    A chain cut off at its end, or rewritten from some point on, verifies: compare the
    last hash with one recorded earlier (see `check_anchor`).
    """
    verified, previous_seq, previous_hash = 0, 0, GENESIS_HASH
    for seq, fields, stored_hash in events:
        expected = previous_seq + 1
        if seq != expected:
            problem = ChainProblem(expected, f"event {expected} is missing (the next stored event is {seq})", MISSING)
            return ChainReport(verified, previous_seq, previous_hash, problem)
        if fields.get("prev_hash") != previous_hash:
            problem = ChainProblem(
                seq, f"its previous-hash link does not match event {previous_seq} "
                "(one of the two was changed, or events were reordered)", LINK)
            return ChainReport(verified, previous_seq, previous_hash, problem)
        if fields.get("seq") != seq or event_hash(fields) != stored_hash:
            problem = ChainProblem(seq, "its content does not match its hash (edited)", EDITED)
            return ChainReport(verified, previous_seq, previous_hash, problem)
        verified, previous_seq, previous_hash = verified + 1, seq, stored_hash
    return ChainReport(verified, previous_seq, previous_hash, None)


def verify_chain(events: Iterable[tuple[int, dict[str, Any], str]]) -> ChainProblem | None:
    """The first problem in the chain, or None when it holds."""
    return check_chain(events).problem


def check_anchor(anchor_seq: int, anchor_hash: str, stored_hash: str | None) -> ChainProblem | None:
    """Compare an event's hash recorded earlier (an anchor) with the one stored now."""
    if stored_hash is None:
        return ChainProblem(anchor_seq, f"event {anchor_seq}, recorded earlier, no longer exists (trail cut off)", MISSING)
    if stored_hash != anchor_hash.strip().lower():
        return ChainProblem(anchor_seq, f"event {anchor_seq} no longer has the hash recorded earlier (trail rewritten)", EDITED)
    return None
