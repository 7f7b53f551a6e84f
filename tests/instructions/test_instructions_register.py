"""The register: finding an instruction months later by a word, a date, a department or a status,
and exporting the register and one instruction's record (CSV and PDF), audited."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.instructions.models import Instruction
from tests.conftest import https_client, sign_in
from tests.instructions_fixtures import client_for, english, issue_directly, post_action, today_jst


def _titles(client, **params) -> list[str]:
    response = client.get("/instructions/", query_string=params)
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    return [title for title in ("電話勧奨の停止", "名簿持ち出しの禁止", "代理店向け注意") if title in html]


def _rewrite(instruction_id: int, column: str, value) -> None:
    """Tests only: move an instruction into the past. The table refuses UPDATE, so the test
    steps the trigger aside (the app never can: it has no such statement)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE instructions DISABLE TRIGGER instructions_immutable"))
    else:
        db.session.execute(text("DROP TRIGGER IF EXISTS instructions_no_update"))
    db.session.execute(text(f"UPDATE instructions SET {column} = :v WHERE id = :i"), {"v": value, "i": instruction_id})
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE instructions ENABLE TRIGGER instructions_immutable"))
    db.session.commit()


def _backdate(instruction_id: int, moment: datetime) -> None:
    _rewrite(instruction_id, "issued_at", moment.astimezone(timezone.utc).replace(tzinfo=None))


@pytest.fixture
def three(instructions_org):
    """Three instructions issued at different times to different departments."""
    first = issue_directly(instructions_org.manager, title="電話勧奨の停止",
                           body="コラボ事業者の契約者へ架電しないこと。")
    second = issue_directly(instructions_org.sales_manager, departments=("SALES",), title="名簿持ち出しの禁止",
                            body="顧客名簿を社外へ持ち出さないこと。", reason="紛失事案")
    third = issue_directly(instructions_org.manager, departments=("AGENCY",), title="代理店向け注意",
                           body="確認を徹底すること。")
    _backdate(first.id, datetime(2026, 4, 1, 1, 0, tzinfo=timezone.utc))    # 2026-04-01 10:00 JST
    _backdate(second.id, datetime(2026, 4, 30, 16, 0, tzinfo=timezone.utc))  # 2026-05-01 01:00 JST
    return first, second, third


def test_search_by_a_word_of_the_text_title_or_reason(client, instructions_org, login, three):
    login(instructions_org.admin)
    assert _titles(client, q="架電") == ["電話勧奨の停止"]                # a word of the body
    assert _titles(client, q="名簿") == ["名簿持ち出しの禁止"]            # a word of the title
    assert _titles(client, q="紛失") == ["名簿持ち出しの禁止"]            # a word of the reason
    assert _titles(client, q="100%_") == []                              # LIKE wildcards are literal


def test_search_by_issue_date_in_japan_time(client, instructions_org, login, three):
    login(instructions_org.admin)
    april = {"issued_from-year": "2026", "issued_from-month": "4", "issued_from-day": "1",
             "issued_to-year": "2026", "issued_to-month": "4", "issued_to-day": "30"}
    # 2026-05-01 01:00 JST is 2026-04-30 in UTC: still May in Japan, so not in April.
    assert _titles(client, **april) == ["電話勧奨の停止"]
    response = client.get("/instructions/", query_string={"issued_from-year": "2026", "issued_from-month": "2",
                                                           "issued_from-day": "30"})
    assert response.status_code == 400


def test_search_by_department_and_status(client, instructions_org, login, three):
    first, second, third = three
    login(instructions_org.admin)
    assert _titles(client, department=str(instructions_org.sales.id)) == ["名簿持ち出しの禁止"]
    assert _titles(client, department=str(instructions_org.agency.id)) == ["代理店向け注意"]
    assert set(_titles(client, status="open")) == {"電話勧奨の停止", "名簿持ち出しの禁止", "代理店向け注意"}
    for person in [*instructions_org.agency_staff]:
        browser = https_client(app_of(client))
        sign_in(browser, person)
        post_action(browser, f"/instructions/{third.id}/acknowledge", f"/instructions/{third.id}")
    assert _titles(client, status="complete") == ["代理店向け注意"]
    assert "代理店向け注意" not in _titles(client, status="open")


def app_of(client):
    """The Flask app behind a test client."""
    return client.application


def test_the_register_shows_each_viewer_only_what_they_may_see(app, instructions_org, three):
    assert _titles(client_for(app, instructions_org.sales_staff[0])) == ["名簿持ち出しの禁止"]
    assert set(_titles(client_for(app, instructions_org.manager))) == {"電話勧奨の停止", "代理店向け注意"}
    assert _titles(client_for(app, instructions_org.agency_staff[0])) == ["代理店向け注意"]
    assert len(_titles(client_for(app, instructions_org.auditor))) == 3


def test_register_csv_is_excel_ready_and_audited(client, instructions_org, login, three):
    login(instructions_org.admin)
    response = client.get("/instructions/register.csv", query_string={"q": "名簿"})
    raw = response.get_data()
    response.close()
    assert response.mimetype == "text/csv" and raw.startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][1] == "名簿持ち出しの禁止" and rows[1][3] == "中村 恵"
    event_row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "instruction.exported")).one()
    assert event_row.details["format"] == "csv" and event_row.details["filter"]["text"] == "名簿"
    assert event_row.details["rows"] == 1


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_one_instruction_exports_as_pdf_with_its_acknowledgements(app, client, instructions_org, login, three,
                                                                  tmp_path):
    first = three[0]
    browser = https_client(app)
    sign_in(browser, instructions_org.cust_staff[0])
    post_action(browser, f"/instructions/{first.id}/acknowledge", f"/instructions/{first.id}")
    login(instructions_org.manager)
    response = client.get(f"/instructions/{first.id}/record.pdf")
    pdf = response.get_data()
    response.close()
    assert response.mimetype == "application/pdf" and pdf.startswith(b"%PDF-")
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    words = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "電話勧奨の停止" in words and "コラボ事業者の契約者へ架電しないこと。" in words
    assert "髙橋 優子（C1）" in words and "佐藤 翔太（C2）" in words
    assert first.content_hash in words.replace(" ", "").replace("\n", "") or first.content_hash[:32] in words
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "IPAex" in fonts
    assert db.session.scalars(select(AuditEvent.details_json).where(
        AuditEvent.action == "instruction.exported", AuditEvent.object_id == str(first.id))).one()


def test_acknowledgements_csv_lists_who_has_and_has_not(app, client, instructions_org, login, three):
    first = three[0]
    browser = https_client(app)
    sign_in(browser, instructions_org.cust_staff[1])
    post_action(browser, f"/instructions/{first.id}/acknowledge", f"/instructions/{first.id}")
    login(instructions_org.manager)
    english(client)
    response = client.get(f"/instructions/{first.id}/acknowledgements.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    response.close()
    by_no = {row["Employee number"]: row for row in rows}
    assert set(by_no) == {"C1", "C2", "C3"}
    assert by_no["C2"]["Status"] == "Acknowledged" and by_no["C2"]["Acknowledged (JST)"]
    assert by_no["C1"]["Status"] == "Not yet acknowledged" and by_no["C1"]["Acknowledged (JST)"] == ""


def test_pages_use_a_fixed_number_of_queries_whatever_the_headcount(client, instructions_org, login, make_person,
                                                                    count_queries):
    def _count_queries(client, url: str) -> int:
        with count_queries() as statements:
            response = client.get(url)
            assert response.status_code == 200
            response.close()
        return len(statements)

    small = issue_directly(instructions_org.manager, departments=("CUST", "AGENCY"))
    login(instructions_org.manager)
    queries_small = (_count_queries(client, f"/instructions/{small.id}"), _count_queries(client, "/instructions/"))
    for n in range(40):
        make_person(f"N{n:03d}", department=instructions_org.cust)
    for n in range(5):
        issue_directly(instructions_org.manager, departments=("CUST", "AGENCY"), title=f"追加 {n}")
    big = issue_directly(instructions_org.manager, departments=("CUST", "AGENCY"))
    assert db.session.scalar(select(Instruction.id).order_by(Instruction.id.desc()).limit(1)) == big.id
    queries_big = (_count_queries(client, f"/instructions/{big.id}"), _count_queries(client, "/instructions/"))
    assert queries_big == queries_small


def test_a_passed_deadline_makes_an_instruction_overdue(client, instructions_org, login):
    instruction = issue_directly(instructions_org.manager, title="電話勧奨の停止")
    _rewrite(instruction.id, "acknowledge_by", today_jst() - timedelta(days=1))
    login(instructions_org.manager)
    english(client)
    assert _titles(client, status="overdue") == ["電話勧奨の停止"]
    assert _titles(client, status="open") == []
    assert '<span class="status status--error">Overdue</span>' in client.get(
        f"/instructions/{instruction.id}").get_data(as_text=True)
    recipient = client_for(client.application, instructions_org.cust_staff[0])
    english(recipient)
    assert "Overdue" in recipient.get("/").get_data(as_text=True)


def test_an_issue_date_range_backwards_is_refused_on_the_form(client, instructions_org, login):
    login(instructions_org.admin)
    english(client)
    response = client.get("/instructions/", query_string={
        "issued_from-year": "2026", "issued_from-month": "5", "issued_from-day": "1",
        "issued_to-year": "2026", "issued_to-month": "4", "issued_to-day": "1"})
    assert response.status_code == 400
    assert "The end date must not be before the start date." in response.get_data(as_text=True)
    assert client.get("/instructions/register.csv", query_string={"issued_from-year": "x"}).status_code == 400


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_a_very_long_recipient_list_is_cut_in_the_pdf_and_says_where_the_rest_is(app, instructions_org, monkeypatch,
                                                                                  tmp_path):
    from portal.instructions import export_views

    monkeypatch.setattr(export_views, "PDF_RECORD_PEOPLE_LIMIT", 2)
    instruction = issue_directly(instructions_org.manager, departments=("CUST",))
    response = client_for(app, instructions_org.manager).get(f"/instructions/{instruction.id}/record.pdf")
    path = tmp_path / "record.pdf"
    path.write_bytes(response.get_data())
    response.close()
    words = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "最初の2名" in words and "残り1名" in words
    assert "髙橋 優子（C1）" not in words and "鈴木 美咲（C3）" in words  # たかはし is third in kana order: cut
