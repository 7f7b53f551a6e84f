"""The registers auditors ask for: every grant and every look-up, by dates, paged, exported safely and audited."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select, update

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.lookups.models import LookupRequest
from portal.org.models import Person
from tests.access_fixtures import START, grant_for, train
from tests.cap_fixtures import hr_import
from tests.conftest import https_client, sign_in
from tests.lookups_fixtures import ask

HOSTILE = "=HYPERLINK(\"http://evil.invalid\",\"x\")"


def _csv(response) -> list[list[str]]:
    body = response.get_data()
    response.close()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _registered(clock, world, make_person):
    """Three grants on three days: E1 (moved to the back office afterwards), E2, and a hostile name."""
    hostile = make_person("E3", department=world.front, name=HOSTILE)
    grants = []
    for person in (world.employee, world.colleague, hostile):
        train(person, world)
        grants.append(grant_for(world, person, days=30, now=clock.now))
        clock.advance(days=1)
    hr_import((world.employee, world.back, None))
    return grants


def test_the_grant_register_shows_who_where_then_why_and_the_state_now(client, login, clock, world, make_person):
    grants = _registered(clock, world, make_person)
    clock.advance(days=40)  # every grant has ended; nothing applied the clock
    login(world.auditor)
    page = client.get("/access/registers/grants")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "3件の権限付与" in html
    row = html[html.index(f"/access/grants/{grants[0].id}\""):]
    row = row[:row.index("</tr>")]
    assert "お客様フロント部" in row and "山﨑 健一（M1）" in row and "𠮷田 誠（G1）" in row and "有効期限切れ" in row
    assert "=HYPERLINK(&#34;http://evil.invalid&#34;" in html  # shown as text, escaped
    one_day = client.get("/access/registers/grants", query_string={
        "granted_from-year": "2026", "granted_from-month": "4", "granted_from-day": "2",
        "granted_to-year": "2026", "granted_to-month": "4", "granted_to-day": "2"}).get_data(as_text=True)
    assert "1件の権限付与" in one_day and f"/access/grants/{grants[1].id}\"" in one_day
    bad = client.get("/access/registers/grants", query_string={
        "granted_from-year": "2026", "granted_from-month": "2", "granted_from-day": "30"})
    assert bad.status_code == 400 and "error-summary" in bad.get_data(as_text=True)


def test_the_grant_register_pages(client, login, clock, world, make_person, monkeypatch):
    import portal.access.registers as registers

    monkeypatch.setattr(registers, "PAGE_SIZE", 2)
    import portal.access.register_views as views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    grants = _registered(clock, world, make_person)
    login(world.auditor)
    first = client.get("/access/registers/grants").get_data(as_text=True)
    second = client.get("/access/registers/grants", query_string={"page": 2}).get_data(as_text=True)
    assert f"/access/grants/{grants[2].id}\"" in first and f"/access/grants/{grants[0].id}\"" not in first
    assert f"/access/grants/{grants[0].id}\"" in second and "2ページ中2ページ目" in second


def test_grant_register_exports_are_safe_and_audited(client, login, clock, world, make_person):
    grants = _registered(clock, world, make_person)
    db.session.execute(update(Person).where(Person.id == world.colleague.id).values(name="+SUM(A1:A9)"))
    db.session.commit()
    login(world.auditor)
    rows = _csv(client.get("/access/registers/grants.csv", query_string={"state": "in_force"}))
    header, body = rows[0], rows[1:]
    assert header[0] == "付与番号" and len(body) == 2  # E1's grant waits for the new manager: suspended
    by_id = {int(r[0]): r for r in body}
    assert by_id[grants[2].id][4] == "'" + HOSTILE
    assert by_id[grants[1].id][4] == "'+SUM(A1:A9)"
    assert by_id[grants[1].id][5] == "CUST-FRONT" and by_id[grants[1].id][12].startswith("2026-04-02")
    everyone = {int(r[0]): r for r in _csv(client.get("/access/registers/grants.csv"))[1:]}
    assert everyone[grants[0].id][5] == "CUST-FRONT"  # the department when granted, not the one now
    assert everyone[grants[0].id][19] == "停止中" and everyone[grants[0].id][20] == "transfer_unconfirmed"
    xlsx = client.get("/access/registers/grants.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True).active
    xlsx.close()
    names = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'" + HOSTILE in names
    exported = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.grant_register_exported")
                                  .order_by(AuditEvent.seq)).all()
    assert [e.details["format"] for e in exported] == ["csv", "csv", "xlsx"]
    assert exported[0].details["state"] == "in_force"


def test_a_grant_owner_reads_only_the_registers_of_their_systems(client, login, clock, world, make_person):
    _registered(clock, world, make_person)
    stranger = make_person("G9", roles=("grant_owner",), department=world.back)
    login(stranger)
    page = client.get("/access/registers/grants").get_data(as_text=True)
    assert "0件の権限付与" in page
    chosen = client.get("/access/registers/grants", query_string={"system": "customer-info"})
    assert chosen.status_code == 400
    assert len(_csv(client.get("/access/registers/grants.csv"))) == 1


def test_the_lookup_register_pages_filters_by_day_and_exports(app, client, login, clock, lw, monkeypatch):
    import portal.lookups.register as register

    monkeypatch.setattr(register, "PAGE_SIZE", 2)
    import portal.lookups.register_views as views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    asked = []
    for n in range(3):
        question = f"{HOSTILE} 確認してほしい内容 {n}" if n == 1 else f"確認してほしい内容その{n}です。"
        asked.append(ask(lw, question=question))
        clock.advance(days=1)
    login(lw.auditor)
    first = client.get("/lookups/register").get_data(as_text=True)
    assert "3件の照会依頼" in first and f"/lookups/{asked[2].id}\"" in first
    assert f"/lookups/{asked[0].id}\"" not in first
    second = client.get("/lookups/register", query_string={"page": 2}).get_data(as_text=True)
    assert f"/lookups/{asked[0].id}\"" in second
    day = (START + timedelta(days=1)).date()
    only = client.get("/lookups/register", query_string={
        "asked_from-year": day.year, "asked_from-month": day.month, "asked_from-day": day.day,
        "asked_to-year": day.year, "asked_to-month": day.month, "asked_to-day": day.day}).get_data(as_text=True)
    assert "1件の照会依頼" in only and f"/lookups/{asked[1].id}\"" in only
    rows = _csv(client.get("/lookups/register.csv"))
    assert rows[0][0] == "番号" and rows[0][9] == "照会内容"
    questions = {int(r[0]): r[9] for r in rows[1:]}
    assert len(questions) == 3 and questions[asked[1].id].startswith("'=HYPERLINK")
    expired = _csv(client.get("/lookups/register.csv", query_string={"status": "expired"}))
    assert len(expired) == 1  # nothing has expired yet
    clock.advance(days=30)  # the requests expire by the clock alone
    client = https_client(app)  # (the first sign-in expired meanwhile)
    sign_in(client, lw.auditor)
    expired = _csv(client.get("/lookups/register.csv", query_string={"status": "expired"}))
    assert len(expired) == 4
    xlsx = client.get("/lookups/register.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True).active
    xlsx.close()
    assert sum(1 for _ in sheet.iter_rows(min_row=2)) == 3
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "lookups.register_exported")
                                .order_by(AuditEvent.seq)).all()
    assert [e.details["format"] for e in events] == ["csv", "csv", "csv", "xlsx"]
    assert db.session.get(LookupRequest, asked[0].id) is not None
