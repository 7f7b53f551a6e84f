"""The audit chain as pure functions: canonical form, hashing and verification."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

GENESIS_HASH = "0" * 64


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    """Serialise an event's fields the one way the hash is computed over."""
    return json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_encode
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


def verify_chain(events: Iterable[tuple[int, dict[str, Any], str]]) -> ChainProblem | None:
    """Check (seq, fields, stored_hash) in seq order; return the first problem or None.

    Catches an edited row (hash differs), a deleted row (gap in seq or broken link)
    and reordering (prev_hash does not name the previous event).
    """
    expected_seq = 1
    previous_hash = GENESIS_HASH
    for seq, fields, stored_hash in events:
        if seq != expected_seq:
            return ChainProblem(expected_seq, f"event {expected_seq} is missing (next is {seq})")
        if fields.get("prev_hash") != previous_hash:
            return ChainProblem(seq, "previous-hash link does not match the event before it")
        if event_hash(fields) != stored_hash:
            return ChainProblem(seq, "content does not match its hash (edited)")
        previous_hash = stored_hash
        expected_seq += 1
    return None
