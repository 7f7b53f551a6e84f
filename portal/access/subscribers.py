"""What access does when training duties or training status change (connected by portal.wiring).

Every subscriber recomputes the stored decisions in the sender's transaction (flushes, never commits).
"""
from __future__ import annotations

from portal.access.refresh import refresh_access_decisions
from portal.core import signals


def refresh_after_assignments(sender, person_ids=None, now=None, **_kwargs) -> None:
    """Leavers' grants are suspended; training duties that changed are seen at once."""
    refresh_access_decisions(person_ids, now=now)


def refresh_after_publishing(sender, **_kwargs) -> None:
    """Grants now answer "valid until" the new due dates."""
    refresh_access_decisions()


def refresh_after_training(sender, person_id, now=None, **_kwargs) -> None:
    """An attestation (or its revocation) resumes or suspends that person's grants at once."""
    refresh_access_decisions([person_id], now=now)


def connect_signals() -> None:
    """Subscribe access to the signals of the features below it (idempotent)."""
    signals.manual_assignments_changed.connect(refresh_after_assignments, weak=False)
    signals.edition_published.connect(refresh_after_publishing, weak=False)
    signals.attested.connect(refresh_after_training, weak=False)
    signals.attestation_revoked.connect(refresh_after_training, weak=False)
