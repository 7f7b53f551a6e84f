"""What training provides to the features below it (connected by portal.wiring)."""
from __future__ import annotations

from portal.manuals.queries import answer_last_attested_with
from portal.training.queries import last_attested_edition_number


def connect_signals() -> None:
    """Answer manuals' "which edition did this person last attest?" (idempotent)."""
    answer_last_attested_with(last_attested_edition_number)
