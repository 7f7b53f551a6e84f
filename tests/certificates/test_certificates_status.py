"""The certificate status rule (pure: no app, no database)."""
from __future__ import annotations

from datetime import date

import pytest

from portal.certificates.status import certificate_status, is_superseded

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize("edition, later, material, expected", [
    (1, [], [1, 2], False),             # never re-attested
    (1, [2], [1, 2], True),             # attested the new material edition
    (1, [2], [1], False),               # edition 2 was minor: nothing to supersede
    (1, [3], [1, 3], True),             # attested an edition after the new material one
    (1, [2], [1, 3], False),            # attested a minor 2, but material 3 is still to do
    (2, [3], [1, 2], False),            # later minor edition does not supersede
    (3, [], [1, 2, 3], False),          # the latest certificate
])
def test_superseded_only_by_a_later_attestation_of_a_newer_material_edition(edition, later, material, expected):
    assert is_superseded(edition, later, material) is expected


@pytest.mark.parametrize("revoked, superseded, valid_until, expected", [
    (False, False, None, "current"),
    (False, False, TODAY, "current"),             # valid through its last day
    (False, False, date(2026, 11, 28), "expired"),
    (False, True, None, "superseded"),
    (True, True, date(2020, 1, 1), "revoked"),    # revocation wins over everything
])
def test_certificate_status(revoked, superseded, valid_until, expected):
    assert certificate_status(revoked=revoked, superseded=superseded, valid_until=valid_until, today=TODAY) == expected
