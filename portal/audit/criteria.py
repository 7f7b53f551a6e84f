"""What part of the trail an auditor asks for: filters, JST day boundaries, dates typed as 年/月/日.

Pure functions and values: no app, no database.
"""
from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone

from portal.core.timeutil import JST

#: Errors a typed date can have, and the part (year, month, day) the message belongs to.
DATE_INCOMPLETE = "incomplete"
DATE_NOT_NUMBER = "not_number"
DATE_NOT_REAL = "not_real"
DATE_OUT_OF_RANGE = "out_of_range"
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class DateError:
    """Why a typed date was refused, and which part to point at."""

    code: str
    part: str


def parse_date_parts(year: str | None, month: str | None, day: str | None) -> date | DateError | None:
    """A date from three typed numbers (full-width digits allowed); None when all are blank."""
    parts = {"year": year, "month": month, "day": day}
    cleaned = {k: unicodedata.normalize("NFKC", v or "").strip() for k, v in parts.items()}
    if not any(cleaned.values()):
        return None
    for name in ("year", "month", "day"):
        if not cleaned[name]:
            return DateError(DATE_INCOMPLETE, name)
    for name in ("year", "month", "day"):
        if not cleaned[name].isascii() or not cleaned[name].isdigit() or len(cleaned[name]) > 4:
            return DateError(DATE_NOT_NUMBER, name)
    y, m, d = (int(cleaned[k]) for k in ("year", "month", "day"))
    if not FIRST_YEAR <= y <= LAST_YEAR:
        return DateError(DATE_OUT_OF_RANGE, "year")
    if not 1 <= m <= 12:
        return DateError(DATE_NOT_REAL, "month")
    try:
        return date(y, m, d)
    except ValueError:
        return DateError(DATE_NOT_REAL, "day")


def jst_day_start(day: date) -> datetime:
    """The UTC moment a JST calendar day begins (00:00 JST is 15:00 UTC the day before)."""
    return datetime.combine(day, time(0, 0), tzinfo=JST).astimezone(timezone.utc)


def jst_day_end(day: date) -> datetime:
    """The UTC moment a JST calendar day ends (exclusive: the next day's 00:00 JST)."""
    return jst_day_start(day + timedelta(days=1))


@dataclass(frozen=True)
class AuditCriteria:
    """Filters on the trail. Empty strings and None mean "any"."""

    action: str = ""
    actor_no: str = ""
    object_type: str = ""
    object_id: str = ""
    text: str = ""
    date_from: date | None = None
    date_to: date | None = None
    #: Evidence as of the end of this JST day: the chain as it stood then.
    as_of: date | None = None

    @property
    def action_prefix(self) -> str | None:
        """"auth.*" asks for every action starting with "auth."; None for an exact match."""
        return self.action[:-1] if self.action.endswith("*") else None

    def occurred_bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) in UTC for the date range, each None when open."""
        start = jst_day_start(self.date_from) if self.date_from else None
        end = jst_day_end(self.date_to) if self.date_to else None
        return start, end

    def as_of_end(self) -> datetime | None:
        """The UTC moment the "as of" day ends, or None for "now"."""
        return jst_day_end(self.as_of) if self.as_of else None

    def as_details(self) -> dict[str, str]:
        """The filters that are set, as plain strings (for the export's own audit event)."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v}

    def query_args(self) -> dict[str, str]:
        """URL query parameters that reproduce these criteria (the filter form's field names)."""
        args = {k: v for k, v in asdict(self).items() if v and isinstance(v, str)}
        for name in ("date_from", "date_to", "as_of"):
            day = getattr(self, name)
            if day:
                args.update({f"{name}_year": str(day.year), f"{name}_month": str(day.month),
                             f"{name}_day": str(day.day)})
        return args

    @property
    def is_filtered(self) -> bool:
        """True when any filter is set."""
        return bool(self.as_details())
