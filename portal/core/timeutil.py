"""Time helpers: store UTC, show Japan time, 和暦 beside Gregorian dates."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")

# (first day, era name) newest first; 令和 from 2019-05-01.
_ERAS = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """Treat naive datetimes (SQLite returns them) as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def to_jst(moment: datetime) -> datetime:
    """Convert a stored UTC moment to Japan time."""
    return as_utc(moment).astimezone(JST)


def wareki(day: date) -> str:
    """Japanese era name for a date, e.g. 令和8年11月29日 (元年 for the first year)."""
    for start, name in _ERAS:
        if day >= start:
            year = day.year - start.year + 1
            year_text = "元" if year == 1 else str(year)
            return f"{name}{year_text}年{day.month}月{day.day}日"
    return day.isoformat()
