"""Corrective instructions in a real browser: a manager issues one to a department and an
agency, two recipients acknowledge it, and it is found later in the register and exported."""
from __future__ import annotations

import uuid
from datetime import timedelta

from portal.core.timeutil import to_jst, utcnow
from tests.browser.helpers import main_text, sign_in, sign_out

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _issue(page, word: str, screenshot_dir) -> str:
    """As M2001 (manager of お客様フロント部): issue to the department and to 東北販売株式会社."""
    sign_in(page, "M2001")
    page.get_by_role("link", name="是正指示を発出する").first.click()
    page.fill("#title", f"架電リストの使用停止（{word}）")
    page.fill("#body", f"## 指示\n\n配布済みの架電リスト（{word}）は使用せず、管理者へ返却してください。")
    page.fill("#reason", "コラボ事業者と調整していない架電リストが配布されたため。")
    page.check("#departments-CUST-FRONT")
    page.check("#departments-AGENCY-TOHOKU")
    deadline = to_jst(utcnow()).date() + timedelta(days=10)
    page.fill("#acknowledge_by", str(deadline.year))
    page.fill("#acknowledge_by-month", str(deadline.month))
    page.fill("#acknowledge_by-day", str(deadline.day))
    page.set_input_files("#attachments", files=[{"name": "返却手順.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.screenshot(path=str(screenshot_dir / "instruction-new.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="是正指示を発出する").click()
    text = main_text(page)
    assert "是正指示を発出しました" in text
    assert "お客様フロント部" in text and "東北販売株式会社" in text and "返却手順.pdf" in text
    url = page.url
    sign_out(page)
    return url


def _acknowledge(page, employee_no: str, word: str, screenshot_dir) -> None:
    sign_in(page, employee_no)
    pending = page.locator(".instruction-pending-card")
    assert word in pending.inner_text()
    page.screenshot(path=str(screenshot_dir / f"instruction-home-{employee_no}.png"), full_page=True)
    pending.get_by_role("link", name=f"架電リストの使用停止（{word}）").click()
    assert "この是正指示の内容を読み、指示に従います。" in main_text(page)
    page.screenshot(path=str(screenshot_dir / f"instruction-acknowledge-{employee_no}.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="内容を確認しました").click()
    assert "確認を記録しました" in main_text(page)
    page.goto("/")
    assert word not in main_text(page)  # no longer pending on the home page
    sign_out(page)


def test_issue_acknowledge_find_and_export(page, screenshot_dir, tmp_path):
    word = f"試験{uuid.uuid4().hex[:6]}"
    detail_url = _issue(page, word, screenshot_dir)
    _acknowledge(page, "E1001", word, screenshot_dir)   # お客様フロント部
    _acknowledge(page, "M2003", word, screenshot_dir)   # 東北販売株式会社 (an agency)

    sign_in(page, "M2001")
    page.get_by_role("link", name="是正指示", exact=True).first.click()
    page.fill("#q", word)
    with page.expect_navigation():
        page.get_by_role("button", name="検索").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and word in rows.first.inner_text()
    page.screenshot(path=str(screenshot_dir / "instruction-register.png"), full_page=True)

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSVでダウンロード").click()
    csv_path = tmp_path / "register.csv"
    csv_download.value.save_as(csv_path)
    assert word in csv_path.read_text(encoding="utf-8-sig")

    rows.first.get_by_role("link").click()
    assert page.url == detail_url
    text = main_text(page)
    assert "確認済み（2名）" in text
    assert "髙橋 優子（E1001）" in text and "小林 大輔（M2003）" in text
    page.screenshot(path=str(screenshot_dir / "instruction-detail.png"), full_page=True)
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="記録をPDFでダウンロード").click()
    pdf_path = tmp_path / "record.pdf"
    pdf_download.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    assert pdf_download.value.suggested_filename.endswith(".pdf")
