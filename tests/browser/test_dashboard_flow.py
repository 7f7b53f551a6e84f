"""Dashboards and certificates in a real browser: a manager reads the department, exports it to Excel
and reminds someone overdue; an admin has a department's certificates made into a ZIP and downloads it
from My downloads once the queue made it; the organisation recount runs the same way."""
from __future__ import annotations

import io
import subprocess
import zipfile

from openpyxl import load_workbook

from tests.browser.helpers import main_text, run_queue, sign_in


def test_manager_reads_the_department_exports_it_and_reminds(page, screenshot_dir, tmp_path):
    sign_in(page, "M2001")  # 山﨑 健一, manager of お客様フロント部
    page.get_by_role("link", name="受講状況ダッシュボード").first.click()
    assert "お客様フロント部（CUST-FRONT）" in main_text(page)
    assert "営業企画部" not in main_text(page)  # not theirs
    page.get_by_role("link", name="お客様フロント部（CUST-FRONT）").click()
    text = main_text(page)
    assert "マニュアル別の受講状況" in text and "期限を過ぎている人" in text
    assert page.locator("svg.chart__svg").count() == 2  # the bars, and the trend:
    assert page.locator("svg.chart__svg--trend circle.chart__dot").count() == 1  # the demo took today's snapshot
    page.screenshot(path=str(screenshot_dir / "dashboard-department.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="すべての表（Excel）").click()
    download = download_info.value
    name = download.suggested_filename
    assert name.startswith("dashboard-CUST-FRONT-") and name.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["概要", "期限超過", "社員"]
    people = list(workbook["社員"].iter_rows(values_only=True))
    assert people[0][:3] == ("部門コード", "社員番号", "氏名")
    assert any(row[2] == "髙橋 優子" for row in people[1:])  # 外字 intact
    overdue_rows = list(workbook["期限超過"].iter_rows(values_only=True))[1:]
    workbook.close()
    assert overdue_rows

    behind = page.locator("#behind").locator("xpath=following::table[1]")
    person = behind.locator("tbody th").first.inner_text()  # 氏名（社員番号）
    button = behind.get_by_role("button", name=person)  # "受講を促す" + the person, for screen readers
    with page.expect_navigation():
        button.click()
    assert f"{person}さんに受講を促すメールを送信しました。" in main_text(page)
    assert "本日" in page.locator("#behind").locator("xpath=following::table[1]").inner_text()
    page.screenshot(path=str(screenshot_dir / "dashboard-reminded.png"), full_page=True)


def test_admin_makes_a_departments_certificates_zip_and_downloads_it_when_ready(page, portal_app, screenshot_dir,
                                                                               tmp_path):
    sign_in(page, "S6001")
    page.goto("/certificates/export")
    page.select_option("#department", label="お客様フロント部（CUST-FRONT）")
    page.screenshot(path=str(screenshot_dir / "certificates-export.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="ZIPファイルを作成").click()
    assert "/downloads/" in page.url and "待機中" in main_text(page)  # answered at once; a consumer makes it
    page.screenshot(path=str(screenshot_dir / "downloads-waiting.png"), full_page=True)
    run_queue(portal_app)
    # downloads.js polls status.json and reloads the page when the job has finished.
    page.get_by_role("link", name="ダウンロード").filter(has_text="certificates-CUST-FRONT-").wait_for(timeout=15_000)
    page.screenshot(path=str(screenshot_dir / "downloads-ready.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="ダウンロード").filter(has_text="certificates-CUST-FRONT-").click()
    download = download_info.value
    assert download.suggested_filename.startswith("certificates-CUST-FRONT-")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with zipfile.ZipFile(path) as archive:
        pdfs = [n for n in archive.namelist() if n.endswith(".pdf")]
        assert pdfs and all(n.startswith("CUST-FRONT/") for n in pdfs)
        first = archive.read(sorted(pdfs)[0])
        manifest = archive.read("manifest.csv").decode("utf-8-sig")
    pdf_path = tmp_path / "one.pdf"
    pdf_path.write_bytes(first)
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], check=True, capture_output=True, text=True).stdout
    assert "修" in text and "お客様フロント部" in text and "/verify/" in text
    assert "お客様フロント部" in manifest
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf_path),
                    str(screenshot_dir / "certificate")], check=True)
    assert io.BytesIO(first).getbuffer().nbytes > 10_000


def test_training_admin_counts_the_organisation_and_reads_the_heat_map(page, portal_app, screenshot_dir):
    sign_in(page, "T3001")
    page.goto("/dashboards/organisation")
    with page.expect_navigation():
        page.get_by_role("button", name="今日の集計を今すぐ記録する").click()
    assert "全社の再集計" in main_text(page) and "待機中" in main_text(page)
    run_queue(portal_app)
    result = page.get_by_role("link", name="結果を見る")
    result.wait_for(timeout=15_000)  # downloads.js saw the job finish
    with page.expect_navigation():
        result.first.click()
    table = page.locator("table.heat-map")
    assert table.locator("tbody tr").count() >= 4
    assert "お客様フロント部" in table.inner_text()
    page.screenshot(path=str(screenshot_dir / "dashboard-organisation.png"), full_page=True)
