"""Form fields every feature may use."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import Field
from wtforms.utils import unset_value

DATE_PARTS = ("year", "month", "day")


class DatePartsField(Field):
    """A date typed as 年/月/日 numeric fields (STYLE.md), read from NAME-year, NAME-month and
    NAME-day and checked on the server. Empty parts give None; a non-date gives an error."""

    def process(self, formdata, data=unset_value, extra_filters=None):  # noqa: D102
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        self.data = data
        self.parts = {"year": "", "month": "", "day": ""}
        if isinstance(data, date):
            self.parts = {"year": str(data.year), "month": str(data.month), "day": str(data.day)}
        if formdata is None:
            return
        self.parts = {part: (formdata.get(f"{self.name}-{part}") or "").strip()[:8] for part in DATE_PARTS}
        self.raw_data = [value for value in self.parts.values() if value]
        if not self.raw_data:
            self.data = None
            return
        try:
            # int() accepts full-width digits (２０２６), which Japanese keyboards produce.
            self.data = date(*(int(self.parts[part]) for part in DATE_PARTS))
        except ValueError:
            self.data = None
            self.process_errors.append(_l("Enter a real date as year, month and day, for example 2026 12 31."))

    def _value(self) -> str:
        return self.data.isoformat() if isinstance(self.data, date) else ""
