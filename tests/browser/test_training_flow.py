"""The demo employee in a real browser: My training → what changed → read → quiz → attest."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.manuals.models import Manual
from portal.org.models import Person
from portal.training.models import Attestation, QuizAttempt
from portal.training.quiz import questions_by_id
from tests.browser.helpers import main_text, sign_in

MANUAL = "partner-subscriber-information"


def _attempt(portal_app, attempt_id: int) -> tuple[list[dict], dict]:
    with portal_app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        drawn, spec = attempt.drawn, attempt.quiz_version.spec
        db.session.remove()
    return drawn, questions_by_id(spec)


def test_e1001_retrains_on_the_changed_sections_and_attests(page, portal_app, screenshot_dir):
    sign_in(page, "E1001")
    page.goto("/training/")
    text = main_text(page)
    assert "こんにちは、髙橋 優子さん" in text and "再受講が必要" in text
    page.screenshot(path=str(screenshot_dir / "training-my-training.png"), full_page=True)

    # The whole row is the link.
    with page.expect_navigation():
        page.locator(".task-list__item", has_text="コラボ事業者").click()
    assert page.url.endswith(f"/training/manuals/{MANUAL}")
    assert "第1版" in main_text(page) and "変更" in main_text(page)
    page.screenshot(path=str(screenshot_dir / "training-overview.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("link", name="マニュアルを読む").click()
    assert page.locator("h1.manual-title").inner_text().startswith("コラボ事業者")
    page.go_back()

    with page.expect_navigation():
        page.get_by_role("button", name="変更箇所の理解度テストを始める").click()
    attempt_id = int(re.search(r"/training/attempts/(\d+)$", page.url).group(1))
    drawn, bank = _attempt(portal_app, attempt_id)
    assert page.locator("fieldset legend").count() == len(drawn)
    for question in drawn:
        for choice in bank[question["id"]]["correct"]:
            page.locator(f"#q-{question['id']}-{choice}").check()
    page.screenshot(path=str(screenshot_dir / "training-quiz.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="回答を送信する").click()
    assert "合格です" in main_text(page)
    page.screenshot(path=str(screenshot_dir / "training-result.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("link", name="確認誓約へ進む").click()
    assert "誓約する内容を確認してください" in main_text(page)
    page.fill("#password", "wrong-password")
    with page.expect_navigation():
        page.get_by_role("button", name="確認して誓約する").click()
    assert "パスワードが正しくありません" in main_text(page)
    page.fill("#password", "demo-password-2026")
    page.screenshot(path=str(screenshot_dir / "training-attest.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="確認して誓約する").click()
    assert "確認誓約を記録しました" in main_text(page)

    with portal_app.app_context():
        person = db.session.scalar(select(Person).where(Person.employee_no == "E1001"))
        manual = db.session.scalar(select(Manual).where(Manual.slug == MANUAL))
        latest = db.session.scalars(select(Attestation).where(
            Attestation.person_id == person.id, Attestation.manual_id == manual.id)
            .order_by(Attestation.edition_number.desc())).first()
        assert latest.edition_number == 2 and latest.attempt_id == attempt_id
        db.session.remove()
    page.goto("/training/")
    assert page.locator(".task-list__item", has_text="コラボ事業者").locator(".training-tag").inner_text() == "完了"
