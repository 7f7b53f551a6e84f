"""Manuals in a real browser: an employee reads the demo manual, then sees what changed between its editions."""
from __future__ import annotations

from tests.browser.helpers import main_text, sign_in


def test_employee_reads_the_current_edition_and_compares(page, screenshot_dir):
    sign_in(page, "E1001")  # customer front: in the audience of the partner-information manual
    page.goto("/manuals/")
    assert "受講が必要なマニュアル" in main_text(page)
    with page.expect_navigation():
        page.get_by_role("link", name="コラボ事業者の契約者情報の取扱いマニュアル").click()
    assert "第2版" in main_text(page)
    status = page.locator(".reader-status").inner_text()  # the include the training feature fills
    assert "要受講" in status and "期限" in status
    toc = page.locator("nav.manual-toc")
    assert toc.is_visible() and "閲覧権限のない者の確認方法" in toc.inner_text()
    # The table's alignment comes from classes (the CSP blocks inline styles): the numbers sit right.
    assert page.locator(".manual-body td.align-right").first.evaluate("e => getComputedStyle(e).textAlign") == "right"
    page.screenshot(path=str(screenshot_dir / "manual-read.png"), full_page=True)
    with page.expect_navigation():
        page.locator("main a[href$='compare?from=1&to=2']").first.click()
    text = main_text(page)
    assert "第1版から第2版への変更点" in text and "凡例" in text
    assert page.locator("#cmp-lookup.diff-section--added").is_visible()
    marked = page.locator("#cmp-grants ins").all_inner_texts()
    assert "権限付与責任者は、半期ごとに" in marked
    assert not page.locator("details.diff-unchanged").get_attribute("open")
    page.screenshot(path=str(screenshot_dir / "manual-compare.png"), full_page=True)


def test_an_older_edition_is_marked_superseded(page):
    sign_in(page, "E1001")
    page.goto("/manuals/partner-subscriber-information/editions/1")
    assert "旧版: これは第1版です。現行の版は第2版です。" in main_text(page)


def test_training_admin_sees_the_publish_plan(page, screenshot_dir):
    sign_in(page, "T3001")
    page.goto("/manuals/admin/publish")
    text = main_text(page)
    assert "リポジトリのマニュアルはすべて公開済みです" in text  # `portal demo` published them
    assert "partner-subscriber-information" in text
    page.screenshot(path=str(screenshot_dir / "manual-publish.png"), full_page=True)
