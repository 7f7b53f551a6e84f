"""Coverage per department, now and at past dates, caps, and the CSV/XLSX exports."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from portal.access.cap_override import admit_over_cap
from portal.access.coverage import coverage_report
from portal.access.services import GrantDecision, decide_approval, decide_grant, request_access, revoke_grant
from portal.access.systems import set_department_caps
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.org.models import Person
from tests.access_fixtures import EXPLANATION, PURPOSES, START, grant_for, train


@pytest.fixture
def history(world, clock, make_person):
    """Four people in customer front (plus the manager); three granted on day 0, two revoked on day 10."""
    people = [world.employee, world.colleague, make_person("E3", department=world.front, name="𠮷田 花子")]
    db.session.execute(update(Person).values(created_at=START - timedelta(days=400)))
    for person in people:
        train(person, world)
    grants = [grant_for(world, person) for person in people]
    clock.advance(days=10)
    for grant in grants[:2]:
        revoke_grant(world.owner, grant, "利用者の範囲を見直したため")
    db.session.commit()
    return grants


def _front(rows):
    return next(r for r in rows if r.code == "CUST-FRONT")


def test_now_past_and_the_change_between(world, clock, history):
    rows = coverage_report(world.system, date(2026, 4, 11), compare_with=date(2026, 4, 1))
    front = _front(rows)
    assert (front.before.in_force, front.before.headcount) == (3, 4)
    assert (front.after.in_force, front.after.headcount) == (1, 4)
    assert front.before.percent == 75.0 and front.after.percent == 25.0 and front.change_points == -50.0
    total = rows[-1]
    assert total.code == "" and total.after.in_force == 1


def test_a_date_before_anything_happened_shows_nobody(world, clock, history):
    assert _front(coverage_report(world.system, date(2026, 3, 1))).after.in_force == 0


def test_without_room_a_grant_waits_and_an_override_is_audited(world, clock, make_person):
    set_department_caps(world.owner, world.system, {"CUST-FRONT": 25}, reason="見直し後の上限")
    db.session.commit()
    # headcount 4 (manager, E1, E2, E4): 25% allows one person.
    fourth = make_person("E4", department=world.front)
    for person in (world.employee, world.colleague, fourth):
        train(person, world)
    grant_for(world, world.employee)
    request = request_access(world.colleague, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(world.manager, request, True, "業務上必要")
    waiting = decide_grant(world.owner, request, GrantDecision(True, "付与します", days=30)).grant
    db.session.commit()
    assert waiting.state == "waiting_for_room" and not waiting.cap_overridden
    admit_over_cap(world.owner, waiting, "繁忙期の臨時対応のため")
    db.session.commit()
    db.session.refresh(waiting)
    assert waiting.state == "in_force" and waiting.cap_overridden
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.cap_overridden")).one()
    assert event.reason == "繁忙期の臨時対応のため" and event.details["cap_percent"] == 25
    assert event.details["limit"] == 1 and event.details["in_force"] == 1
    # Ticked when granting, the override takes effect at once (and is audited the same way).
    request = request_access(fourth, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(world.manager, request, True, "業務上必要")
    outcome = decide_grant(world.owner, request, GrantDecision(True, "監査対応の臨時要員", days=30, override_cap=True))
    db.session.commit()
    assert outcome.grant.state == "in_force" and outcome.grant.cap_overridden
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.cap_overridden")).all()) == 2


def test_coverage_page_and_exports_are_safe(client, login, world, clock, history, make_person):
    clock.advance(days=10)  # joins after the day asked about: counted in today's headcount only
    make_person("E5", department=world.front, name="=cmd|' /C calc'!A0")
    login(world.auditor)
    page = client.get("/access/coverage", query_string={"system": "customer-info", "on_year": 2026, "on_month": 4,
                                                        "on_day": 11, "from_year": 2026, "from_month": 4,
                                                        "from_day": 1})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "-50.0" in html
    query = {"system": "customer-info", "on_year": 2026, "on_month": 4, "on_day": 11,
             "from_year": 2026, "from_month": 4, "from_day": 1}
    exported = client.get("/access/coverage/export.csv", query_string=query)
    body = exported.get_data()
    exported.close()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    front = next(r for r in rows if r[0] == "CUST-FRONT")
    assert front[3:6] == ["3", "4", "75.0"]
    xlsx = client.get("/access/coverage/export.xlsx", query_string=query)
    sheet = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True).active
    xlsx.close()
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert any(r[0] == "CUST-FRONT" for r in values)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.coverage_exported")).first()


def test_a_bad_date_is_named(client, login, world, clock):
    login(world.auditor)
    page = client.get("/access/coverage", query_string={"system": "customer-info", "on_year": 2026, "on_month": 2,
                                                        "on_day": 30})
    assert "error-summary" in page.get_data(as_text=True)


def test_the_report_reads_a_fixed_few_queries_whatever_the_headcount(world, clock, history, make_person,
                                                                      count_queries):
    def report() -> int:
        db.session.expire_all()
        with count_queries() as statements:
            coverage_report(world.system, date(2026, 4, 11), compare_with=date(2026, 4, 1))
        return len(statements)

    small = report()
    for n in range(30):
        person = make_person(f"X{n:03d}", department=world.front)
        train(person, world)
        grant_for(world, person)
    assert report() == small <= 12
