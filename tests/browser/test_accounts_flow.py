"""Local accounts in a real browser: an admin invites an agency employee who sets a password from
the mail; a privileged person sets up the second factor by QR code and signs in with it.

People of their own department are added, so the demo organisation other browser tests rely on
stays as it was. The mail goes to PORTAL_MAIL_DIR as .eml files (no SMTP server configured).
"""
from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pyotp

from portal.auth.passwords import hash_password
from portal.demo.organisation import DEMO_PASSWORD
from portal.extensions import db
from portal.org.models import Department, Person, PersonRole
from tests.browser.helpers import main_text, run_queue, sign_in

NEW_PASSWORD = "kumo-sora-umi-yama-2026"


def _add_people(app) -> tuple[int, int]:
    with app.app_context():
        agency = Department(code="BR-AGENCY", name_ja="ブラウザ販売株式会社", name_en="Browser Sales", kind="agency")
        newcomer = Person(employee_no="BR1001", name="青木 翼", name_kana="あおき つばさ",
                          email="br1001@agency.example", department=agency, password_hash="")
        auditor = Person(employee_no="BR2001", name="監査 次郎", name_kana="かんさ じろう", email="",
                         department=agency, password_hash=hash_password(DEMO_PASSWORD))
        auditor.role_rows = [PersonRole(role="auditor")]
        db.session.add_all([agency, newcomer, auditor])
        db.session.commit()
        ids = newcomer.id, auditor.id
        db.session.remove()
        return ids


def _mail_to(app, address: str) -> str:
    run_queue(app)  # the consumer's part: the outbox sends what the page queued
    folder = Path(app.config["PORTAL_MAIL_DIR"])
    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            return message.get_body(preferencelist=("plain",)).get_content()
    raise AssertionError(f"no mail to {address}")


def test_invited_agency_employee_sets_a_password_and_privileged_person_enrols(page, browser, base_url, portal_app,
                                                                              screenshot_dir):
    newcomer_id, _auditor_id = _add_people(portal_app)
    sign_in(page, "S6001")
    page.goto(f"/org/people/{newcomer_id}")
    with page.expect_navigation():
        page.get_by_role("button", name="ログインの招待を送る").click()
    assert "br1001@agency.example に招待を送りました" in main_text(page)
    page.screenshot(path=str(screenshot_dir / "accounts-person-invited.png"), full_page=True)

    body = _mail_to(portal_app, "br1001@agency.example")
    link = re.search(r"http://\S+(/account/link/\S+)", body).group(1)
    invited = browser.new_context(base_url=base_url, locale="ja-JP").new_page()
    invited.goto(link)
    assert "パスワードの設定" in main_text(invited) and "BR1001" in main_text(invited)
    invited.fill("#new_password", "aoki")
    invited.fill("#confirm_password", "aoki")
    with invited.expect_navigation():
        invited.get_by_role("button", name="パスワードを設定してログインする").click()
    assert "12文字以上にしてください。" in main_text(invited)
    invited.screenshot(path=str(screenshot_dir / "accounts-set-password-refused.png"), full_page=True)
    invited.fill("#new_password", NEW_PASSWORD)
    invited.fill("#confirm_password", NEW_PASSWORD)
    with invited.expect_navigation():
        invited.get_by_role("button", name="パスワードを設定してログインする").click()
    assert "パスワードを設定し、ログインしました。" in main_text(invited)
    assert "こんにちは、青木 翼さん" in main_text(invited)
    invited.context.close()

    portal_app.config["PORTAL_DEMO_RELAX_2FA"] = False  # production behaviour for this part
    try:
        second = browser.new_context(base_url=base_url, locale="ja-JP").new_page()
        sign_in(second, "BR2001")
        assert second.url.endswith("/login/two-factor/enrol")
        qr = second.locator("img.qr-code")
        assert qr.evaluate("image => image.complete && image.naturalWidth > 0")  # the CSP lets the data: image load
        second.screenshot(path=str(screenshot_dir / "accounts-two-factor-enrol.png"), full_page=True)
        secret = second.locator("code.secret-key").inner_text().replace(" ", "")
        second.fill("#code", pyotp.TOTP(secret).now())
        with second.expect_navigation():
            second.get_by_role("button", name="確認してログインする").click()
        assert "表示されるのはこの1回だけです" in main_text(second)
        assert second.locator("ol.recovery-codes li").count() == 10
        second.screenshot(path=str(screenshot_dir / "accounts-recovery-codes.png"), full_page=True)
        with second.expect_navigation():
            second.get_by_role("link", name="コードを保管しました：続ける").click()
        assert "こんにちは、監査 次郎さん" in main_text(second)
        second.context.close()
    finally:
        portal_app.config["PORTAL_DEMO_RELAX_2FA"] = True
