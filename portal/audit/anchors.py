"""Anchors: the chain's head (seq and hash), signed with the audit key, kept where the database cannot reach.

One JSON object per line, appended to PORTAL_AUDIT_ANCHOR_DIR/anchors.jsonl (and mailed to the
auditors). Someone who rewrites the trail in the database cannot also rewrite these lines: the
directory is elsewhere (ideally append-only or on another host), the mail has left, and a line
edited to match a rewritten trail no longer carries a valid signature without the key.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from portal.audit.chain import AnchorPoint, canonical_bytes
from portal.audit.keys import KeyRing

FILE_NAME = "anchors.jsonl"
FORMAT = 1
_HASH = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = ("anchored_at", "format", "hash", "key_id", "last_unkeyed_seq", "seq")


@dataclass(frozen=True)
class BadAnchor:
    """A line of the anchor file that cannot be trusted, and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class AnchorFile:
    """What the anchor file holds: the anchors that verified, and the lines that did not."""

    path: Path | None
    anchors: list[AnchorPoint] = field(default_factory=list)
    bad: list[BadAnchor] = field(default_factory=list)


def _signature(fields: dict, key: bytes) -> str:
    return hmac.new(key, canonical_bytes(fields), hashlib.sha256).hexdigest()


def anchor_line(seq: int, head_hash: str, last_unkeyed_seq: int, anchored_at: datetime, keys: KeyRing) -> str:
    """One signed anchor as a line of JSON (with its newline)."""
    fields = {"anchored_at": anchored_at.astimezone(timezone.utc).replace(tzinfo=None), "format": FORMAT,
              "hash": head_hash, "key_id": keys.current_id, "last_unkeyed_seq": last_unkeyed_seq, "seq": seq}
    signed = json.loads(canonical_bytes(fields)) | {"signature": _signature(fields, keys.current_key)}
    return json.dumps(signed, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def parse_anchor(text: str, keys: KeyRing, source: str = "") -> AnchorPoint:
    """The anchor on one line, after checking its form and signature; ValueError saying why not."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError("not JSON") from error
    if not isinstance(data, dict) or set(data) != {*_FIELDS, "signature"} or data["format"] != FORMAT:
        raise ValueError("not an anchor of this format")
    seq, last_unkeyed = data["seq"], data["last_unkeyed_seq"]
    if not (type(seq) is int and type(last_unkeyed) is int and 0 <= last_unkeyed <= seq
            and isinstance(data["hash"], str) and _HASH.match(data["hash"])):
        raise ValueError("its seq or hash is malformed")
    try:
        anchored_at = datetime.fromisoformat(str(data["anchored_at"]).removesuffix("Z")).replace(tzinfo=timezone.utc)
    except ValueError as error:
        raise ValueError("its time is malformed") from error
    key = keys.keys.get(str(data["key_id"]))
    if key is None:
        raise ValueError(f"it is signed with key {data['key_id']!r}, which is not configured")
    fields = {name: data[name] for name in _FIELDS} | {"anchored_at": anchored_at.replace(tzinfo=None)}
    if not hmac.compare_digest(_signature(fields, key), str(data["signature"])):
        raise ValueError("its signature does not match (the line was edited)")
    return AnchorPoint(seq, data["hash"], last_unkeyed, anchored_at, source)


def anchor_path(directory: str) -> Path | None:
    """The anchor file of a configured directory, or None when anchoring is off."""
    return Path(directory) / FILE_NAME if directory else None


def read_anchors(directory: str, keys: KeyRing) -> AnchorFile:
    """Every anchor in the directory's file, checked; a missing file holds none."""
    path = anchor_path(directory)
    if path is None or not path.exists():
        return AnchorFile(path)
    result = AnchorFile(path)
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                result.anchors.append(parse_anchor(text, keys, f"{path.name} line {number}"))
            except ValueError as error:
                result.bad.append(BadAnchor(number, str(error)))
    return result


def append_anchor(directory: str, line: str) -> Path:
    """Append one line to the anchor file in a single write (O_APPEND), and make it durable."""
    path = anchor_path(directory)
    if path is None:
        raise ValueError("PORTAL_AUDIT_ANCHOR_DIR is not set")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, line.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return path
