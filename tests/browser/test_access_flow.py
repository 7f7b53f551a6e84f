"""Access in a real browser: an employee asks for access, the manager approves, the grant owner grants,
and the decision API then says allow."""
from __future__ import annotations

from tests.browser.helpers import main_text, sign_in, sign_out

EXPLANATION = "付加サービスのお申込みを受けた際に、光回線の契約有無を確認してオーダーを投入するため。"


def _decide(page, choice: str, reason: str) -> None:
    page.get_by_label(choice, exact=True).check()
    page.locator("textarea[name='reason']").fill(reason)
    with page.expect_navigation():
        page.get_by_role("button", name="判断を記録する").click()


def test_request_approve_grant_then_the_api_allows(page, portal_app, screenshot_dir):
    sign_in(page, "E1001")
    page.goto("/access/")
    with page.expect_navigation():
        page.get_by_role("link", name="顧客情報管理システムの閲覧権限を申請する").click()
    text = main_text(page)
    assert "コラボ事業者の契約者情報の取扱いマニュアル" in text and "照会時の利用目的の明示と管理者承認マニュアル" in text
    assert "このシステムに必要な受講はすべて完了しています。" in text  # E1001: edition 2 due, still counts
    page.get_by_label("オーダー投入", exact=True).check()
    page.locator("textarea[name='explanation']").fill(EXPLANATION)
    page.screenshot(path=str(screenshot_dir / "access-request.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="管理者に申請を送る").click()
    assert "申請を管理者に送りました。" in main_text(page) and "管理者の承認待ち" in main_text(page)
    sign_out(page)

    sign_in(page, "M2001")
    assert "承認待ちの閲覧権限の申請" in main_text(page)  # the home page says what waits
    page.goto("/access/inbox")
    with page.expect_navigation():
        page.get_by_role("link", name="髙橋 優子（E1001）").click()
    assert "オーダー投入" in main_text(page)
    _decide(page, "承認する", "オーダー投入の担当として必要と確認した。")
    assert "承認しました。権限付与責任者に通知しました。" in main_text(page)
    sign_out(page)

    sign_in(page, "G4001")
    page.goto("/access/inbox")
    with page.expect_navigation():
        page.get_by_role("link", name="髙橋 優子（E1001）").click()
    assert "部門の上限 52%" in main_text(page)
    _decide(page, "付与する", "研修の修了と管理者の承認を確認した。")
    text = main_text(page)
    assert "まで権限を付与しました。" in text and "付与済み" in text
    page.screenshot(path=str(screenshot_dir / "access-granted.png"), full_page=True)

    result = portal_app.test_cli_runner().invoke(args=["systems", "token", "customer-info"])
    token = result.output.strip().splitlines()[-1]
    answer = page.request.get("/api/v1/access-decisions?system=customer-info&employee=E1001",
                              headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200 and answer.json()["allow"] is True
