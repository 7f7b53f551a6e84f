"""A revocation takes effect, in a real browser: an admin revokes a handler's certificate, and at once her
training no longer counts, her grant is suspended and the decision API says no; she sees why on My
training, passes the quiz again, attests again, and her access comes back."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.manuals.models import Manual
from portal.org.models import Person
from portal.training.models import Attestation, QuizAttempt
from portal.training.quiz import questions_by_id
from tests.browser.helpers import main_text, sign_in, sign_out

HOLDER = "BA0007"  # 中村 結衣, バックヤード部: her grant for the customer-information system is in force
MANUAL = "partner-subscriber-information"
REASON = "受講時に他人のアカウントを使っていたことが判明したため"
DECISIONS = "/api/v1/access-decisions?system=customer-info&employee=" + HOLDER


def _attestation_id(portal_app) -> int:
    with portal_app.app_context():
        person = db.session.scalar(select(Person).where(Person.employee_no == HOLDER))
        manual = db.session.scalar(select(Manual).where(Manual.slug == MANUAL))
        found = db.session.scalar(select(Attestation.id).where(
            Attestation.person_id == person.id, Attestation.manual_id == manual.id).order_by(Attestation.id.desc()))
        db.session.remove()
    return found


def _answer_key(portal_app, attempt_id: int) -> dict[str, list[str]]:
    with portal_app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        bank = questions_by_id(attempt.quiz_version.spec)
        key = {drawn["id"]: list(bank[drawn["id"]]["correct"]) for drawn in attempt.drawn}
        db.session.remove()
    return key


def _decision(page, token: str) -> dict:
    answer = page.request.get(DECISIONS, headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200
    return answer.json()


def test_a_revoked_certificate_stops_counting_and_re_attesting_restores_access(page, portal_app, screenshot_dir):
    token = portal_app.test_cli_runner().invoke(args=["systems", "token",
                                                      "customer-info"]).output.strip().splitlines()[-1]
    assert _decision(page, token)["allow"] is True
    attestation_id = _attestation_id(portal_app)

    sign_in(page, "S6001")
    page.goto(f"/certificates/{attestation_id}")
    page.locator("textarea[name='reason']").fill(REASON)
    with page.expect_navigation():
        page.get_by_role("button", name="修了証を取り消す").click()
    assert "修了証を取り消しました。" in main_text(page)
    sign_out(page)

    answer = _decision(page, token)
    assert answer["allow"] is False
    assert "grant_suspended" in answer["reasons"] and f"training_not_current:{MANUAL}" in answer["reasons"]

    sign_in(page, HOLDER)
    page.goto("/training/")
    row = page.locator(".task-list__item", has_text="要再誓約")
    assert row.count() == 1 and REASON in row.inner_text()
    assert "完了" not in row.locator(".task-list__status").inner_text()
    page.screenshot(path=str(screenshot_dir / "revoked-my-training.png"), full_page=True)
    page.goto("/access/")
    assert "停止中" in main_text(page)

    page.goto("/training/")
    with page.expect_navigation():
        page.locator(".task-list__item", has_text="要再誓約").locator("a.task-list__link").click()
    assert "要再誓約" in main_text(page)
    with page.expect_navigation():
        page.get_by_role("button", name="理解度テストを始める").click()
    attempt_id = int(re.search(r"/training/attempts/(\d+)$", page.url).group(1))
    for question_id, choices in _answer_key(portal_app, attempt_id).items():
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

    page.goto("/training/")
    assert "要再誓約" not in main_text(page)
    page.goto("/access/")
    assert "停止中" not in main_text(page) and "有効" in main_text(page)
    page.screenshot(path=str(screenshot_dir / "revoked-then-re-attested.png"), full_page=True)
    answer = _decision(page, token)
    assert answer["allow"] is True and answer["reasons"] == []
