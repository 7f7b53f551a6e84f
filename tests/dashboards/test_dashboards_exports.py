"""Dashboard tables as CSV (UTF-8 with BOM) and XLSX: Japanese intact, formulas neutralised, audited."""
from __future__ import annotations

import csv
import io
from urllib.parse import unquote

from openpyxl import load_workbook

from portal.extensions import db
from tests.certificates_fixtures import events


def _csv(response) -> list[list[str]]:
    assert response.data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the UTF-8 Japanese correctly
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def test_department_summary_csv(client, login, org):
    login(org.manager)
    response = client.get(f"/dashboards/departments/{org.sales.id}/export.csv?table=summary")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "dashboard-SALES-summary-" in response.headers["Content-Disposition"]
    header, row = _csv(response)
    assert header[:3] == ["マニュアル", "マニュアルID", "受講済み"]
    assert row[:2] == ["パートナー情報の取扱い", "partner-data"]
    assert row[2:] == ["1", "0", "0", "1", "1", "0", "3", "33.3"]
    [event] = events("dashboard.exported")
    assert event.actor_id == org.manager.id
    assert event.details == {"table": "summary", "format": "csv", "rows": 1,
                             "scope": {"department": "SALES", "as_of": org.today.isoformat()}}


def test_people_csv_keeps_gaiji_and_neutralises_formula_like_names(client, login, org):
    org.soon.name = '=HYPERLINK("http://evil.example","x")'
    db.session.commit()
    login(org.manager)
    rows = _csv(client.get(f"/dashboards/departments/{org.sales.id}/export.csv?table=people"))
    by_number = {row[1]: row for row in rows[1:]}
    assert set(by_number) == {"E1", "E2", "E3"}  # nobody from another department
    assert by_number["E2"][2] == "𠮷田 誠" and by_number["E2"][6] == "期限超過"
    assert by_number["E3"][2] == "'" + '=HYPERLINK("http://evil.example","x")'
    behind = _csv(client.get(f"/dashboards/departments/{org.sales.id}/export.csv?table=behind"))
    assert [row[1] for row in behind[1:]] == ["E2"]
    assert client.get(f"/dashboards/departments/{org.sales.id}/export.csv?table=secrets").status_code == 404


def test_department_xlsx_has_every_table_with_japanese_intact(client, login, org, tmp_path):
    org.soon.name = "@SUM(A1:A9)"
    db.session.commit()
    login(org.manager)
    response = client.get(f"/dashboards/departments/{org.sales.id}/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = unquote(response.headers["Content-Disposition"])
    assert "dashboard-SALES-" in disposition and disposition.endswith('.xlsx"')
    path = tmp_path / "dashboard.xlsx"
    path.write_bytes(response.data)
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["概要", "期限超過", "社員"]
    people = list(workbook["社員"].iter_rows(values_only=True))
    names = {row[1]: row[2] for row in people[1:]}
    assert names["E2"] == "𠮷田 誠"
    assert names["E3"] == "'@SUM(A1:A9)"
    cell = next(c for c in workbook["社員"]["C"] if c.value == "'@SUM(A1:A9)")
    assert cell.data_type == "s"  # text, never a formula
    workbook.close()
    assert events("dashboard.exported")[0].details["table"] == "summary,behind,people"


def test_organisation_export_for_organisation_viewers_only(client, login, org):
    from portal.core.timeutil import utcnow
    from portal.dashboards.services import refresh_completion

    refresh_completion(org.today, utcnow())
    db.session.commit()
    login(org.auditor)
    rows = _csv(client.get("/dashboards/organisation/export.csv?table=heatmap"))
    assert rows[0][:4] == ["部門コード", "部門", "マニュアルID", "マニュアル"]
    assert {row[0]: row[-1] for row in rows[1:]} == {"SALES": "33.3", "FRONT": "0.0"}
    trend = _csv(client.get("/dashboards/organisation/export.csv?table=trend"))
    assert trend[1][0] == org.today.isoformat() and trend[1][1:4] == ["4", "1", "2"]


def test_managers_cannot_export_the_organisation(client, login, org):
    login(org.manager)
    assert client.get("/dashboards/organisation/export.csv").status_code == 403
    assert client.get("/dashboards/organisation/export.xlsx").status_code == 403
    assert events("dashboard.exported") == []


def test_person_export(client, login, org):
    login(org.manager)
    rows = _csv(client.get(f"/dashboards/people/{org.current.id}/export.csv?table=certificates"))
    assert rows[1][:3] == ["パートナー情報の取扱い", "partner-data", "1"] and rows[1][-1] == "有効"
    attempts = _csv(client.get(f"/dashboards/people/{org.current.id}/export.csv?table=attempts"))
    assert attempts[1][5:] == ["合格", "4", "4"]
