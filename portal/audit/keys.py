"""The audit key ring: the secret that keys event hashes and signs anchors, kept outside the database.

PORTAL_AUDIT_KEY is the key new events and anchors use; PORTAL_AUDIT_KEYS_OLD lists the keys used
before a rotation (comma-separated), so events keyed with them still verify. Each key is known by an
id derived from it (its fingerprint), stored on every keyed event and anchor: nobody has to number
keys by hand, and a key that is not configured is named by its id when verification meets it.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from flask import current_app

#: Short keys could be guessed offline from one event and its hash.
MIN_KEY_LENGTH = 32
_ID_MESSAGE = b"portal audit key id"
_CACHE = "portal.audit_keys"


class AuditKeyError(ValueError):
    """The audit key configuration cannot be used; the message says which variable and why."""


def key_id_of(key: bytes) -> str:
    """The public fingerprint of a key (16 hex digits); it reveals nothing usable about the key."""
    return hmac.new(key, _ID_MESSAGE, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class KeyRing:
    """The current key (by id) and every configured key by id."""

    current_id: str
    keys: Mapping[str, bytes]

    @property
    def current_key(self) -> bytes:
        """The key new events and anchors are keyed with."""
        return self.keys[self.current_id]


def _checked(raw: str, variable: str) -> bytes:
    key = raw.strip()
    if len(key) < MIN_KEY_LENGTH:
        raise AuditKeyError(f"{variable}: an audit key must have at least {MIN_KEY_LENGTH} characters "
                            "(python3 -c 'import secrets; print(secrets.token_hex(32))')")
    return key.encode("utf-8")


def keyring_from(current: str, old: str = "") -> KeyRing:
    """A key ring from PORTAL_AUDIT_KEY and PORTAL_AUDIT_KEYS_OLD (comma-separated); raises AuditKeyError."""
    current_key = _checked(current or "", "PORTAL_AUDIT_KEY")
    keys = {key_id_of(key): key for key in (_checked(part, "PORTAL_AUDIT_KEYS_OLD")
                                             for part in (old or "").split(",") if part.strip())}
    current_id = key_id_of(current_key)
    keys[current_id] = current_key
    return KeyRing(current_id, MappingProxyType(keys))


def current_keyring() -> KeyRing:
    """The running app's key ring (built once per configuration)."""
    config = current_app.config
    raw = (config.get("PORTAL_AUDIT_KEY", ""), config.get("PORTAL_AUDIT_KEYS_OLD", ""))
    cached = current_app.extensions.get(_CACHE)
    if cached is None or cached[0] != raw:
        cached = (raw, keyring_from(*raw))
        current_app.extensions[_CACHE] = cached
    return cached[1]
