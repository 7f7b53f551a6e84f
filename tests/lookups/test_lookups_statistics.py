"""Look-up statistics per department and purpose over Japan-time days, and their CSV export."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.lookups.services import decide_lookup_approval
from tests.access_fixtures import PURPOSES
from tests.conftest import https_client, sign_in
from tests.lookups_fixtures import ask, taken

DAY = "first-year=2026&first-month=4&first-day=1&last-year=2026&last-month=4&last-day=1"
HOSTILE_PURPOSE = "=HYPERLINK(\"http://evil.example\")"


def browser(app, person):
    client = https_client(app)
    assert sign_in(client, person).status_code == 302
    return client


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _populate(lw, clock, make_person, make_department):
    """CUST-FRONT: 3 on 1 April (2 purposes; one refused, one taken), 1 on 31 March JST (23:59).
    SALES-PLAN: 1 on 1 April. A department named like a formula: 1 with a formula-like purpose."""
    clock.set(datetime(2026, 3, 31, 14, 59, tzinfo=timezone.utc))  # 31 March, 23:59 in Japan
    ask(lw)
    clock.set(datetime(2026, 3, 31, 15, 0, tzinfo=timezone.utc))  # 1 April, 00:00 in Japan
    taken(lw)
    refused = ask(lw, lw.colleague, purpose=PURPOSES[1])
    decide_lookup_approval(lw.manager, refused, False, "照会は不要と判断した")
    db.session.commit()
    ask(lw, lw.colleague, purpose=PURPOSES[1])
    seller = make_person("SP1", department=lw.sales, name="佐藤 一郎")
    ask(lw, seller, purpose=PURPOSES[2])
    odd = make_department("ODD", "=1+2 部")
    make_person("MO", roles=("manager",), department=odd, manages=[odd])
    person = make_person("O1", department=odd)
    lw.system.purposes_json = json.dumps([*PURPOSES, HOSTILE_PURPOSE], ensure_ascii=False)
    db.session.commit()
    ask(lw, person, purpose=HOSTILE_PURPOSE)


def test_counts_per_department_and_purpose_for_auditors(app, lw, clock, make_person, make_department):
    _populate(lw, clock, make_person, make_department)
    auditor = browser(app, lw.auditor)
    response = auditor.get(f"/lookups/statistics.csv?{DAY}")
    assert response.status_code == 200
    rows = _rows(response)
    assert rows[0] == ["部門コード", "部門", "利用目的", "依頼件数", "回答済み", "却下", "取下げ・失効", "対応中"]
    counted = {(r[0], r[2]): r[3:] for r in rows[1:]}
    assert counted[("CUST-FRONT", PURPOSES[0])] == ["1", "0", "0", "0", "1"]  # the 31 March one is outside
    assert counted[("CUST-FRONT", PURPOSES[1])] == ["2", "0", "1", "0", "1"]
    assert counted[("SALES-PLAN", PURPOSES[2])] == ["1", "0", "0", "0", "1"]
    assert len(counted) == 4
    page = auditor.get(f"/lookups/statistics?{DAY}").get_data(as_text=True)
    assert "部門別の照会依頼" in page and "<caption>" in page and 'scope="row"' in page


def test_the_day_before_is_counted_on_its_own_japan_day(app, lw, clock, make_person, make_department):
    _populate(lw, clock, make_person, make_department)
    day = DAY.replace("first-day=1", "first-day=31").replace("first-month=4", "first-month=3").replace(
        "last-month=4&last-day=1", "last-month=3&last-day=31")
    rows = _rows(browser(app, lw.auditor).get(f"/lookups/statistics.csv?{day}"))
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [("CUST-FRONT", PURPOSES[0], "1")]


def test_managers_count_only_their_departments(app, lw, clock, make_person, make_department):
    _populate(lw, clock, make_person, make_department)
    front = {r[0] for r in _rows(browser(app, lw.manager).get(f"/lookups/statistics.csv?{DAY}"))[1:]}
    sales = {r[0] for r in _rows(browser(app, lw.outsider).get(f"/lookups/statistics.csv?{DAY}"))[1:]}
    assert front == {"CUST-FRONT"} and sales == {"SALES-PLAN"}
    assert browser(app, lw.requester).get(f"/lookups/statistics?{DAY}").status_code == 403


def test_csv_cells_cannot_become_formulas_and_the_export_is_audited(app, lw, clock, make_person, make_department):
    _populate(lw, clock, make_person, make_department)
    rows = _rows(browser(app, lw.admin).get(f"/lookups/statistics.csv?{DAY}"))
    odd = next(r for r in rows if r[0] == "ODD")
    assert odd[1] == "'=1+2 部" and odd[2] == "'" + HOSTILE_PURPOSE
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lookup.statistics_exported"))
    assert event.actor_label == "S1" and event.details["filter"]["from"] == "2026-04-01"


def test_bad_date_ranges_are_refused_naming_the_field(app, lw):
    auditor = browser(app, lw.auditor)
    reversed_range = "first-year=2026&first-month=4&first-day=2&last-year=2026&last-month=4&last-day=1"
    response = auditor.get(f"/lookups/statistics?{reversed_range}")
    assert response.status_code == 400
    assert "入力内容に問題があります" in response.get_data(as_text=True)
    assert auditor.get(f"/lookups/statistics.csv?{reversed_range}").status_code == 400
    response = auditor.get("/lookups/statistics?first-year=2026&first-month=13&first-day=1"
                           "&last-year=2026&last-month=4&last-day=1")
    assert response.status_code == 400


def test_the_default_is_the_last_thirty_days(app, lw):
    ask(lw)
    page = browser(app, lw.auditor).get("/lookups/statistics").get_data(as_text=True)
    assert 'name="first-month" value="3"' in page and 'name="first-day" value="3"' in page  # 3 March
    assert 'name="last-month" value="4"' in page and 'name="last-day" value="1"' in page  # today, 1 April
    assert "お客様フロント部" in page
