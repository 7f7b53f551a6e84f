"""One way to put states into words: each value declared beside its (lazily translated) label.

    GRANT_STATES = StateLabels({"in_force": _l("In force"), "revoked": _l("Revoked")})
    GRANT_STATES.label_for("in_force")   # 「有効」 for a Japanese viewer, "In force" for an English one
    GRANT_STATES.choices()               # [(value, label)] in declaration order, for a filter's <select>

Pages, CSV/XLSX exports and PDFs all read labels through `label_for`, so a state is worded alike
everywhere; a value nobody declared is shown as it is rather than failing the page.
"""
from __future__ import annotations

from typing import Iterator, Mapping


class StateLabels(Mapping[str, str]):
    """States in display order, each with its label; reading one gives the label in the viewer's language."""

    def __init__(self, labels: Mapping[str, object]):
        self._labels = dict(labels)

    def __getitem__(self, value: str) -> str:
        return str(self._labels[value])

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def label_for(self, value: str | None) -> str:
        """The label of `value` in the viewer's language; an undeclared value as it is."""
        label = self._labels.get(value) if value is not None else None
        return str(label) if label is not None else (value or "")

    def choices(self, values: Iterator[str] | None = None) -> list[tuple[str, str]]:
        """[(value, label)] for these values (default: all, in declaration order)."""
        return [(value, self.label_for(value)) for value in (self._labels if values is None else values)]
