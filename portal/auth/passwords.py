"""Password hashing with argon2 (argon2-cffi defaults, RFC 9106 low-memory profile)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when the account is unknown keeps timing the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Hash a new password."""
    return _hasher.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    """True when the password matches; constant work when there is no hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False
