"""The audit chain as pure functions: canonical form, keyed hashing and verification."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

GENESIS_HASH = "0" * 64

#: How an event's hash was made (stored on each event as hash_scheme).
UNKEYED = 1  # plain SHA-256: events written before hashes were keyed; anyone could recompute them
KEYED = 2  # HMAC-SHA256 with the audit key named by the event's key_id

#: Kinds of break, so pages can explain them in the reader's language.
MISSING = "missing"
LINK = "link"
EDITED = "edited"
UNKNOWN_KEY = "unknown_key"
UNKEYED_AFTER_KEYED = "unkeyed"
REWRITTEN = "rewritten"
CUT_OFF = "cut_off"
BAD_ANCHOR = "bad_anchor"


class UnknownKey(LookupError):
    """A keyed event names a key that is not configured."""


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


def plain_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical form: the unkeyed scheme (and what a DBA without the key can compute)."""
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def event_hash(fields: dict[str, Any], keys: Mapping[str, bytes] | None = None) -> str:
    """The hash of an event's fields (which include the previous hash), by the event's own scheme.

    Keyed events carry hash_scheme and key_id among their fields, so both are covered by the hash;
    unkeyed ones carry neither, so their canonical form is exactly what it was when they were written.
    """
    if fields.get("hash_scheme", UNKEYED) == UNKEYED:
        return plain_hash(fields)
    key = (keys or {}).get(fields.get("key_id", ""))
    if key is None:
        raise UnknownKey(fields.get("key_id", ""))
    return hmac.new(key, canonical_bytes(fields), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AnchorPoint:
    """A (seq, hash) recorded outside the database at some moment, and where it was read from."""

    seq: int
    hash: str
    #: The last event with an unkeyed hash when the anchor was written: none after it may be unkeyed.
    last_unkeyed_seq: int
    anchored_at: datetime
    source: str = ""

    def describe(self) -> str:
        """How a report names the anchor."""
        moment = _encode(self.anchored_at)
        return f"the anchor of {moment}" + (f" ({self.source})" if self.source else "")


@dataclass(frozen=True)
class ChainProblem:
    """The first place the chain does not hold."""

    seq: int
    reason: str
    kind: str = EDITED
    #: The anchor that shows the problem, when one does.
    anchor: AnchorPoint | None = None
    key_id: str = ""
    #: For a bad anchor: its line in the anchor file.
    anchor_line: int = 0


@dataclass(frozen=True)
class ChainReport:
    """What a verification saw: events that held, the last good hash, and the first problem."""

    verified: int
    last_seq: int
    last_hash: str
    problem: ChainProblem | None
    last_unkeyed_seq: int = 0
    anchors_checked: int = 0
    newest_anchor: AnchorPoint | None = None

    @property
    def intact(self) -> bool:
        """True when no problem was found."""
        return self.problem is None


def _event_problem(seq: int, fields: dict[str, Any], stored_hash: str, keys, keyed_since: int | None,
                   unkeyed_limit: tuple[int, AnchorPoint] | None) -> ChainProblem | None:
    """What is wrong with one event's own hash, or None."""
    if fields.get("seq") != seq:
        return ChainProblem(seq, "its content does not match its hash (edited)", EDITED)
    if fields.get("hash_scheme", UNKEYED) == UNKEYED:
        if keyed_since is not None:
            return ChainProblem(seq, f"it has an unkeyed hash after keyed event {keyed_since} "
                                "(rewritten without the audit key)", UNKEYED_AFTER_KEYED)
        if unkeyed_limit is not None and seq > unkeyed_limit[0]:
            anchor = unkeyed_limit[1]
            return ChainProblem(seq, f"it has an unkeyed hash, but {anchor.describe()} recorded that every event "
                                f"after {anchor.last_unkeyed_seq} is keyed (rewritten without the audit key)",
                                UNKEYED_AFTER_KEYED, anchor)
    try:
        computed = event_hash(fields, keys)
    except UnknownKey:
        key_id = fields.get("key_id", "")
        return ChainProblem(seq, f"it is keyed with key {key_id!r}, which is not configured "
                            "(add it to PORTAL_AUDIT_KEYS_OLD, or the event was forged)", UNKNOWN_KEY, key_id=key_id)
    if not hmac.compare_digest(computed, stored_hash or ""):
        return ChainProblem(seq, "its content does not match its hash (edited)", EDITED)
    return None


def check_chain(events: Iterable[tuple[int, dict[str, Any], str]], keys: Mapping[str, bytes] | None = None,
                anchors: Sequence[AnchorPoint] = ()) -> ChainReport:
    """Check (seq, fields, stored_hash) in seq order against each other and the anchors; stop at the first problem.

    Catches an edited row (hash differs), a deleted row (gap in seq), reordering or an edited row
    whose hash was recomputed (prev_hash does not name the event before), an unkeyed hash where
    only keyed ones can be, and a key that is not configured. With anchors (hashes recorded outside
    the database) it also catches a trail rewritten with the key up to an anchor (the anchored
    event's hash differs) and a trail cut off before an anchored event.
    """
    by_seq: dict[int, list[AnchorPoint]] = {}
    for anchor in anchors:
        by_seq.setdefault(anchor.seq, []).append(anchor)
    strictest = min(anchors, key=lambda a: a.last_unkeyed_seq, default=None)
    unkeyed_limit = (strictest.last_unkeyed_seq, strictest) if strictest else None
    newest = max(anchors, key=lambda a: (a.seq, a.anchored_at), default=None)
    verified, previous_seq, previous_hash, last_unkeyed, keyed_since = 0, 0, GENESIS_HASH, 0, None

    def report(problem: ChainProblem | None) -> ChainReport:
        return ChainReport(verified, previous_seq, previous_hash, problem, last_unkeyed, len(anchors), newest)

    for anchor in by_seq.get(0, ()):
        if anchor.hash != GENESIS_HASH:
            return report(ChainProblem(0, f"{anchor.describe()} does not name the start of a trail", BAD_ANCHOR,
                                       anchor))
    for seq, fields, stored_hash in events:
        expected = previous_seq + 1
        if seq != expected:
            return report(ChainProblem(expected, f"event {expected} is missing (the next stored event is {seq})",
                                       MISSING))
        if fields.get("prev_hash") != previous_hash:
            return report(ChainProblem(seq, f"its previous-hash link does not match event {previous_seq} "
                                       "(one of the two was changed, or events were reordered)", LINK))
        problem = _event_problem(seq, fields, stored_hash, keys, keyed_since, unkeyed_limit)
        if problem is not None:
            return report(problem)
        for anchor in by_seq.get(seq, ()):
            if stored_hash != anchor.hash:
                return report(ChainProblem(seq, f"its hash differs from the one {anchor.describe()} recorded "
                                           "(the trail was rewritten at or before this event)", REWRITTEN, anchor))
        if fields.get("hash_scheme", UNKEYED) == UNKEYED:
            last_unkeyed = seq
        elif keyed_since is None:
            keyed_since = seq
        verified, previous_seq, previous_hash = verified + 1, seq, stored_hash
    beyond = [anchor for anchor in anchors if anchor.seq > previous_seq]
    if beyond:
        anchor = max(beyond, key=lambda a: a.seq)
        return report(ChainProblem(anchor.seq, f"{anchor.describe()} recorded event {anchor.seq}, but the trail "
                                   f"ends at event {previous_seq} (cut off)", CUT_OFF, anchor))
    return report(None)


def verify_chain(events: Iterable[tuple[int, dict[str, Any], str]],
                 keys: Mapping[str, bytes] | None = None) -> ChainProblem | None:
    """The first problem in the chain, or None when it holds."""
    return check_chain(events, keys).problem


def check_anchor(anchor_seq: int, anchor_hash: str, stored_hash: str | None) -> ChainProblem | None:
    """Compare an event's hash recorded earlier (an anchor) with the one stored now."""
    if stored_hash is None:
        return ChainProblem(anchor_seq, f"event {anchor_seq}, recorded earlier, no longer exists (trail cut off)",
                            MISSING)
    if stored_hash != anchor_hash.strip().lower():
        return ChainProblem(anchor_seq, f"event {anchor_seq} no longer has the hash recorded earlier (trail rewritten)",
                            EDITED)
    return None
