"""Chart geometry and figure formatting for the dashboards (pure)."""
from __future__ import annotations

from datetime import date, timedelta

from portal.dashboards.charts import WIDTH, heat_class, line_chart, percent, shorten, stacked_bars

STATUSES = ("current", "due", "overdue")


def test_segments_fill_the_bar_in_status_order_and_skip_empty_statuses():
    chart = stacked_bars([("A", {"current": 3, "overdue": 1}), ("B", {})], STATUSES)
    first, empty = chart.bars
    assert [s.status for s in first.segments] == ["current", "overdue"]
    assert first.segments[0].x == chart.bar_x
    assert abs(sum(s.width for s in first.segments) - chart.bar_width) < 0.05
    assert first.segments[0].width == round(chart.bar_width * 0.75, 2)
    assert first.share == 0.75
    assert empty.segments == () and empty.share is None
    assert chart.bar_x + chart.bar_width < WIDTH
    assert empty.y > first.y


def test_long_labels_are_shortened_with_an_ellipsis():
    assert shorten("あ" * 30, 10) == "あ" * 9 + "…"
    assert shorten("short", 10) == "short"


def test_line_chart_maps_days_to_x_and_shares_to_y():
    start = date(2026, 11, 1)
    chart = line_chart([(start, 0.0), (start + timedelta(days=1), None), (start + timedelta(days=10), 1.0)])
    (x0, y0, _d0, _s0), (x1, y1, _d1, _s1) = chart.points
    assert x0 == chart.left and x1 == chart.right
    assert y0 > y1  # 100% is drawn higher than 0%
    assert chart.polyline == f"{x0},{y0} {x1},{y1}"
    assert [label for _x, label in chart.x_labels] == [start, start + timedelta(days=10)]


def test_line_chart_with_one_point_centres_it_and_with_none_draws_nothing():
    single = line_chart([(date(2026, 11, 1), 0.5)])
    assert len(single.points) == 1 and single.points[0][0] == (single.left + single.right) / 2
    assert line_chart([]).points == ()


def test_heat_classes_and_percentages_round_down():
    assert heat_class(None) == "heat-none"
    assert heat_class(0.0) == "heat-0"
    assert heat_class(0.999) == "heat-9"
    assert heat_class(1.0) == "heat-10"
    assert percent(0.999) == "99%"  # 100% only when everyone is current
    assert percent(1.0) == "100%"
    assert percent(None) == "—"
