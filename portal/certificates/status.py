"""Whether a certificate still counts: a pure decision, tested without an app or a database."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

CURRENT = "current"
SUPERSEDED = "superseded"
EXPIRED = "expired"
REVOKED = "revoked"
CERTIFICATE_STATUSES = (CURRENT, SUPERSEDED, EXPIRED, REVOKED)


def is_superseded(edition_number: int, later_attested: Iterable[int], material_numbers: Iterable[int]) -> bool:
    """True when the holder later attested an edition at or after a material edition newer than this one.

    A later attestation of a minor edition alone does not supersede: the text that needs
    re-training has not changed.
    """
    newer_material = [n for n in material_numbers if n > edition_number]
    if not newer_material:
        return False
    first_newer_material = min(newer_material)
    return any(n >= first_newer_material for n in later_attested)


def certificate_status(*, revoked: bool, superseded: bool, valid_until: date | None, today: date) -> str:
    """revoked, superseded, expired or current, in that order of precedence."""
    if revoked:
        return REVOKED
    if superseded:
        return SUPERSEDED
    if valid_until is not None and today > valid_until:
        return EXPIRED
    return CURRENT
