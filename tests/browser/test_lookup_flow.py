"""Look-up requests (照会依頼) in a real browser, as a new user would try them: a customer-front employee
without access files a look-up, the manager approves,
a back-office colleague whose grant is in force takes and answers it, the requester reads the answer,
and the auditor finds every step in the audit trail."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.access.models import AccessGrant
from portal.access.services import revoke_grant
from portal.demo.lookups import HANDLER
from portal.extensions import db
from portal.org.models import Person
from tests.browser.helpers import main_text, sign_in, sign_out

PURPOSE = "光回線契約有無の確認（付加サービス申込対応）"
EXPLANATION = "お客様から付加サービスのお申込みを受けており、光回線の契約有無を確認して受付を進めるため。"
QUESTION = "受付番号のオーダーについて、光回線の契約があるかどうかを確認してください。"
ANSWER = "光回線の契約あり（1回線、開通済み）"


def _without_access(portal_app, employee_no: str) -> None:
    """The access flow earlier in this session may have granted E1001 access: a person with access looks
    data up themselves, so take it back (as the grant owner) to try the look-up as someone without."""
    with portal_app.app_context():
        person = db.session.scalar(select(Person).where(Person.employee_no == employee_no))
        owner = db.session.scalar(select(Person).where(Person.employee_no == "G4001"))
        for grant in db.session.scalars(select(AccessGrant).where(
                AccessGrant.person_id == person.id, AccessGrant.state.in_(("in_force", "suspended")))):
            revoke_grant(owner, grant, "照会依頼の試験のため取り消す")
        db.session.commit()
        db.session.remove()


def test_file_approve_answer_and_audit_a_look_up(page, portal_app, screenshot_dir):
    _without_access(portal_app, "E1001")
    sign_in(page, "E1001")
    page.goto("/lookups/")
    with page.expect_navigation():
        page.get_by_role("link", name="顧客情報管理システムの照会を依頼する").click()
    assert "氏名・電話番号・メールアドレス・住所は不要です" in main_text(page)

    page.get_by_label(PURPOSE, exact=True).check()
    page.fill("#explanation", EXPLANATION)
    page.fill("#question", QUESTION)
    page.fill("#reference", "ORD-2026-777001")
    page.screenshot(path=str(screenshot_dir / "lookup-new.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="照会依頼を管理者に送る").click()
    text = main_text(page)
    assert "照会依頼を管理者に送りました" in text and "管理者の承認待ち" in text
    number = re.search(r"/lookups/(\d+)$", page.url).group(1)
    sign_out(page)

    sign_in(page, "M2001")
    page.goto("/lookups/inbox")
    with page.expect_navigation():
        page.get_by_role("link", name=f"No.{number}", exact=True).first.click()
    assert QUESTION in main_text(page)
    page.get_by_label("承認する", exact=True).check()
    page.fill("#reason", "付加サービス受付のため必要と確認した。")
    with page.expect_navigation():
        page.get_by_role("button", name="判断を記録する").click()
    assert "承認しました" in main_text(page)
    sign_out(page)

    sign_in(page, HANDLER)  # バックヤード部, grant for the customer-information system in force
    page.goto("/lookups/queue")
    with page.expect_navigation():
        page.get_by_role("link", name=f"No.{number}", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("button", name="この依頼を引き受ける").click()
    assert "この依頼を引き受けました" in main_text(page)
    page.fill("#checked", "顧客情報管理システムの契約一覧（光回線）を受付番号で確認")
    page.fill("#answer", ANSWER)
    page.screenshot(path=str(screenshot_dir / "lookup-answer.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="回答を記録して依頼を完了する").click()
    assert "回答を記録し、依頼を完了しました" in main_text(page)
    sign_out(page)

    sign_in(page, "E1001")
    page.goto(f"/lookups/{number}")
    text = main_text(page)
    assert "回答済み" in text and ANSWER in text
    sign_out(page)

    sign_in(page, "A5001")
    page.goto(f"/audit/?object_type=lookup_request&object_id={number}")
    text = main_text(page)
    for action in ("lookup.requested", "lookup.approved", "lookup.taken", "lookup.answered"):
        assert action in text, action
    page.screenshot(path=str(screenshot_dir / "lookup-audit.png"), full_page=True)
    page.goto(f"/lookups/{number}")
    history = page.locator("table", has_text="照会担当者が引受け").inner_text()
    assert "照会を依頼" in history and "管理者が承認" in history and "回答して完了" in history
