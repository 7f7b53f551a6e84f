"""An administrator in a real browser: HR import with preview, then the people pages and a role change."""
from __future__ import annotations

from tests.browser.helpers import main_text, run_queue, sign_in
from tests.org_fixtures import HEADER

#: A new department so the demo organisation other browser tests rely on stays as it was.
HR_FILE = "\r\n".join([
    HEADER,
    "BR0001,髙木 﨑子,たかぎ さきこ,br0001@example.co.jp,BR-TEST,ブラウザ試験部,,,,",
    "BR0002,<img src=x onerror=alert(1)>,ぶらうざ じろう,br0002@example.co.jp,BR-TEST,ブラウザ試験部,,manager,BR-TEST,",
]) + "\r\n"


def test_admin_imports_previews_applies_and_changes_a_role(page, portal_app, screenshot_dir, tmp_path):
    portal_app.config["PORTAL_ORG_UPLOAD_DIR"] = str(tmp_path / "org_imports")
    upload = tmp_path / "hr.csv"
    upload.write_bytes(HR_FILE.encode("cp932"))
    sign_in(page, "S6001")
    page.goto("/org/import")
    page.set_input_files("#file", str(upload))
    page.select_option("#encoding", "cp932")
    with page.expect_navigation():
        page.locator("main form button").click()
    assert page.url.endswith("/org/import/preview")
    preview = main_text(page)
    assert "髙木 﨑子（BR0001）" in preview and "<img src=x onerror=alert(1)>（BR0002）" in preview
    assert "管理者" in preview
    page.screenshot(path=str(screenshot_dir / "org-import-preview.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="この内容で取り込む").click()
    assert page.url.endswith("/downloads/")  # answered at once: a consumer applies the rows
    assert "取り込みを開始しました" in main_text(page) and "待機中" in main_text(page)
    run_queue(portal_app)
    page.get_by_text("hr.csv を取り込みました").wait_for(timeout=15_000)  # downloads.js saw the job finish
    page.screenshot(path=str(screenshot_dir / "org-import-done.png"), full_page=True)

    page.goto("/org/people?q=%E3%82%BF%E3%82%AB%E3%82%AE")  # タカギ in katakana finds たかぎ
    page.screenshot(path=str(screenshot_dir / "org-people.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("link", name="髙木 﨑子（BR0001）").click()
    page.get_by_label("監査", exact=True).check()
    page.fill("#reason", "ブラウザ試験の申請 001")
    with page.expect_navigation():
        page.get_by_role("button", name="役割を保存する").click()
    assert "髙木 﨑子（BR0001）の役割を変更しました" in main_text(page)
    assert "監査" in page.locator("dl.summary-list").first.inner_text()  # the second is the sign-in account
    page.screenshot(path=str(screenshot_dir / "org-person.png"), full_page=True)
