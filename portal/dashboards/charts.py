"""Chart geometry for server-rendered SVG: pure functions from figures to coordinates.

Templates draw the shapes with classes (colours live in portal.css: no inline style under
the strict CSP); every chart sits next to a table that carries the same figures in text.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

#: Width of every chart's coordinate system; the SVG scales to its container.
WIDTH = 1000
LABEL_WIDTH = 330
VALUE_WIDTH = 70
BAR_HEIGHT = 22
BAR_GAP = 10


@dataclass(frozen=True)
class Segment:
    """One status's part of a bar."""

    status: str
    x: float
    width: float
    count: int


@dataclass(frozen=True)
class Bar:
    """One row of a stacked bar chart."""

    label: str
    y: float
    segments: tuple[Segment, ...]
    share: float | None


@dataclass(frozen=True)
class BarChart:
    """A stacked horizontal bar chart: one bar per row, segments per status."""

    bars: tuple[Bar, ...]
    height: float
    bar_x: float
    bar_width: float
    bar_height: float


def shorten(text: str, limit: int) -> str:
    """The text cut to `limit` characters with an ellipsis (the full text is in the table)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stacked_bars(rows: list[tuple[str, dict[str, int]]], statuses: tuple[str, ...],
                 label_chars: int = 20) -> BarChart:
    """Bars whose segments are each status's share of the row's total, in `statuses` order."""
    bar_x = LABEL_WIDTH
    bar_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, (label, by_status) in enumerate(rows):
        total = sum(by_status.get(s, 0) for s in statuses)
        x = float(bar_x)
        segments = []
        for status in statuses:
            count = by_status.get(status, 0)
            if not count or not total:
                continue
            width = bar_width * count / total
            segments.append(Segment(status, round(x, 2), round(width, 2), count))
            x += width
        share = by_status.get(statuses[0], 0) / total if total else None
        bars.append(Bar(shorten(label, label_chars), index * (BAR_HEIGHT + BAR_GAP), tuple(segments), share))
    height = max(len(rows) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP, BAR_HEIGHT)
    return BarChart(tuple(bars), height, bar_x, bar_width, BAR_HEIGHT)


@dataclass(frozen=True)
class LineChart:
    """A line of shares over days, in a WIDTH × height box with margins for the axes."""

    points: tuple[tuple[float, float, date, float], ...]
    polyline: str
    height: float
    grid: tuple[tuple[float, int], ...]
    x_labels: tuple[tuple[float, date], ...]
    left: float
    right: float


def line_chart(series: list[tuple[date, float | None]], height: int = 260) -> LineChart:
    """Points (x, y, day, share) for shares 0–1 over days; gaps (None) are left out."""
    left, right, top, bottom = 60.0, WIDTH - 20.0, 12.0, height - 34.0
    known = [(day, share) for day, share in series if share is not None]
    grid = tuple((round(bottom - (bottom - top) * percent / 100, 2), percent) for percent in (0, 25, 50, 75, 100))
    if not known:
        return LineChart((), "", height, grid, (), left, right)
    first, last = known[0][0], known[-1][0]
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        if first == last:
            return round((left + right) / 2, 2)
        return round(left + (right - left) * (day - first).days / span, 2)

    points = tuple((x_of(day), round(bottom - (bottom - top) * share, 2), day, share) for day, share in known)
    polyline = " ".join(f"{x},{y}" for x, y, _day, _share in points)
    label_days = sorted({first, last} | ({known[len(known) // 2][0]} if len(known) > 2 else set()))
    return LineChart(points, polyline, height, grid, tuple((x_of(day), day) for day in label_days), left, right)


def heat_class(share: float | None) -> str:
    """A CSS class for a heat-map cell: heat-none, or heat-0 … heat-10 by tenths of the share current."""
    if share is None:
        return "heat-none"
    return f"heat-{min(int(share * 10), 10)}"


def heat_cells(shares: list[float | None]) -> Markup:
    """The <td> cells of one heat-map row, built in one go (10,000 cells per page: a template loop is slow).

    Only our own class names and percentages go in, so the markup is safe as it is.
    """
    return Markup("".join(f'<td class="num heat {heat_class(share)}">{percent(share)}</td>' for share in shares))


def percent(share: float | None) -> str:
    """A share as a whole percentage, rounded down so that 100% means everyone ("—": nobody assigned)."""
    if share is None:
        return "—"
    return f"{int(share * 100)}%"
