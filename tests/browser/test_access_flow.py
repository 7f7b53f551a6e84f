"""Access in a real browser, as a new user would try it: an employee whose training has lapsed asks for
access and sees why it cannot be granted, re-trains (reads, passes the quiz, attests), asks again; the
manager approves, the grant owner grants, and the decision API then says allow."""
from __future__ import annotations

import re

from portal.extensions import db
from portal.training.models import QuizAttempt
from portal.training.quiz import questions_by_id
from tests.browser.helpers import main_text, sign_in, sign_out

EXPLANATION = "付加サービスのお申込みを受けた際に、光回線の契約有無を確認してオーダーを投入するため。"
LAPSED = "照会時の利用目的の明示と管理者承認マニュアル"  # E1001's training on it is overdue in the demo
PARTNER = "コラボ事業者の契約者情報の取扱いマニュアル"  # re-training due, which still counts until the due date


def _decide(page, choice: str, reason: str) -> None:
    page.get_by_label(choice, exact=True).check()
    page.locator("textarea[name='reason']").fill(reason)
    with page.expect_navigation():
        page.get_by_role("button", name="判断を記録する").click()


def _open_request_form(page) -> None:
    page.goto("/access/")
    with page.expect_navigation():
        page.get_by_role("link", name="顧客情報管理システムの閲覧権限を申請する").click()


def _correct_answers(portal_app, attempt_id: int) -> dict[str, list[str]]:
    """The answer key of the questions drawn for an attempt (read from the database, as a cheat sheet)."""
    with portal_app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        bank = questions_by_id(attempt.quiz_version.spec)
        key = {drawn["id"]: list(bank[drawn["id"]]["correct"]) for drawn in attempt.drawn}
        db.session.remove()
    return key


def _retrain(page, portal_app, screenshot_dir) -> None:
    """From the request page's link: read the manual, pass its quiz, attest."""
    with page.expect_navigation():
        page.get_by_role("link", name=f"{LAPSED}を受講する").click()
    assert page.url.endswith("/training/manuals/lookup-purpose-approval")
    assert "期限超過" in main_text(page)
    with page.expect_navigation():
        page.get_by_role("link", name="マニュアルを読む").click()
    assert page.locator("h1.manual-title").inner_text().startswith(LAPSED)
    page.go_back()

    with page.expect_navigation():
        page.get_by_role("button", name="理解度テストを始める").click()
    attempt_id = int(re.search(r"/training/attempts/(\d+)$", page.url).group(1))
    key = _correct_answers(portal_app, attempt_id)
    assert page.locator("fieldset legend").count() == len(key)
    for question_id, choices in key.items():
        for choice in choices:
            page.locator(f"#q-{question_id}-{choice}").check()
    with page.expect_navigation():
        page.get_by_role("button", name="回答を送信する").click()
    assert "合格です" in main_text(page)

    with page.expect_navigation():
        page.get_by_role("link", name="確認誓約へ進む").click()
    page.fill("#password", "demo-password-2026")
    with page.expect_navigation():
        page.get_by_role("button", name="確認して誓約する").click()
    assert "確認誓約を記録しました" in main_text(page)
    page.screenshot(path=str(screenshot_dir / "access-retrained.png"), full_page=True)


def test_lapsed_training_is_explained_then_retrain_request_approve_grant_and_the_api_allows(
        page, portal_app, screenshot_dir):
    result = portal_app.test_cli_runner().invoke(args=["systems", "token", "customer-info"])
    token = result.output.strip().splitlines()[-1]
    sign_in(page, "E1001")

    # Lapsed training: the request page says access cannot be granted, and exactly why.
    _open_request_form(page)
    text = main_text(page)
    assert "受講が完了していないため、まだ閲覧権限を付与できません。" in text
    lapsed_row = page.locator("table tbody tr", has_text=LAPSED)
    assert "期限超過" in lapsed_row.inner_text() and "いいえ" in lapsed_row.inner_text()
    assert "期限を過ぎています。現行の版を読み、理解度テストに合格して確認誓約してください。" in lapsed_row.inner_text()
    assert "はい" in page.locator("table tbody tr", has_text=PARTNER).inner_text()
    page.screenshot(path=str(screenshot_dir / "access-training-lapsed.png"), full_page=True)
    answer = page.request.get("/api/v1/access-decisions?system=customer-info&employee=E1001",
                              headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200 and answer.json()["allow"] is False and "no_grant" in answer.json()["reasons"]

    _retrain(page, portal_app, screenshot_dir)

    # Asked again: now the training counts.
    _open_request_form(page)
    text = main_text(page)
    assert "このシステムに必要な受講はすべて完了しています。" in text and "受講が完了していない" not in text
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

    answer = page.request.get("/api/v1/access-decisions?system=customer-info&employee=E1001",
                              headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200 and answer.json()["allow"] is True and answer.json()["reasons"] == []
