"""After `portal demo` the organisation dashboard already has today's figures: a heat map and one trend point."""
from __future__ import annotations

from sqlalchemy import select

from portal.dashboards.queries import heat_map, trend
from portal.demo.organisation import DEMO_PASSWORD
from portal.extensions import db
from portal.org.models import Person
from portal.training.status import jst_today
from tests.conftest import https_client, sign_in


def test_the_demo_takes_todays_snapshot_so_the_trend_has_its_first_point(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    [point] = trend(jst_today())
    assert point.day == jst_today() and point.assigned > 0 and 0 < point.current <= point.assigned
    heat = heat_map(jst_today())  # counted now, the same figures as today's snapshot
    assert heat.cells and sum(c.assigned for c in heat.by_department.values()) == point.assigned
    assert sum(c.by_status["current"] for c in heat.by_department.values()) == point.current
    auditor = db.session.scalar(select(Person).where(Person.employee_no == "A5001"))
    browser = https_client(app)
    assert sign_in(browser, auditor, DEMO_PASSWORD).status_code == 302
    page = browser.get("/dashboards/organisation").get_data(as_text=True)
    assert 'class="chart__dot"' in page
    assert "No daily figures yet" not in page and "日ごとの記録はまだありません" not in page
