"""Company SSO in a real browser: sign in on the provider's page, attest by signing in there again
(prompt=login), sign out at the provider too. The provider is the real one of tests/oidc_provider."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from portal.org.models import Person
from portal.training.models import Attestation, QuizAttempt
from portal.training.quiz import questions_by_id
from tests.browser.helpers import main_text, sign_out

MANUAL = "partner-subscriber-information"


@pytest.fixture(scope="module")
def sso_portal(oidc_provider, tmp_path_factory):
    """The demo portal using the provider for company sign-in, served on a free port: (app, base URL)."""
    folder = tmp_path_factory.mktemp("sso-portal")
    application = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'portal.sqlite3'}", "SECRET_KEY": "sso-browser-secret",
        "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False, "PORTAL_MAIL_DIR": str(folder / "mail"),
        "PORTAL_OIDC_ISSUER": oidc_provider.issuer, "PORTAL_OIDC_CLIENT_ID": "portal-test",
        "PORTAL_OIDC_CLIENT_SECRET": "portal-test-secret",
        "PORTAL_DEMO_RELAX_2FA": True,  # as `make run`: the demo's admin signs in with the password alone
        "PORTAL_JOBS_URL": "memory://", "PORTAL_FILES_DIR": str(folder / "files"),
    })
    runner = application.test_cli_runner()
    for command in (["init"], ["demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    with application.app_context():
        db.engine.dispose()
    server = make_server("127.0.0.1", 0, application, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    application.config["PORTAL_BASE_URL"] = base_url  # the redirect URI the provider sends people back to
    thread = threading.Thread(target=server.serve_forever, name="portal-sso-server", daemon=True)
    thread.start()
    yield application, base_url
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def sso_page(browser, sso_portal, oidc_provider):
    """A fresh window on the SSO portal; fails on script errors or policy violations on the portal's pages."""
    _app, base_url = sso_portal
    context = browser.new_context(base_url=base_url, locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    # The provider's own pages import a web font from the internet, which is unreachable here.
    page.on("console", lambda message: problems.append(f"{page.url}: {message.text}")
            if message.type == "error" and not page.url.startswith(oidc_provider.issuer) else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    assert problems == [], f"browser console errors: {problems}"


def _sign_in_at_provider(page, oidc_provider, login: str) -> None:
    assert page.url.startswith(oidc_provider.issuer), page.url
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "the company password")
    with page.expect_navigation(url=re.compile(r"^http://127\.0\.0\.1:\d+/(?!interaction)")):
        page.locator("button.login-submit").click()
    page.wait_for_load_state()


def test_an_employee_signs_in_attests_and_signs_out_through_the_provider(sso_page, sso_portal, oidc_provider,
                                                                         screenshot_dir):
    page = sso_page
    app, base_url = sso_portal
    page.goto("/login")
    page.screenshot(path=str(screenshot_dir / "sso-login.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("link", name="社内アカウントでログイン").click()
    page.screenshot(path=str(screenshot_dir / "sso-provider-login.png"), full_page=True)
    _sign_in_at_provider(page, oidc_provider, "E1001")
    assert page.url == f"{base_url}/"
    assert "こんにちは、髙橋 優子さん" in main_text(page)

    page.goto(f"/training/manuals/{MANUAL}")
    with page.expect_navigation():
        page.get_by_role("button", name="変更箇所の理解度テストを始める").click()
    attempt_id = int(re.search(r"/training/attempts/(\d+)$", page.url).group(1))
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        drawn, bank = attempt.drawn, questions_by_id(attempt.quiz_version.spec)
        db.session.remove()
    for question in drawn:
        for choice in bank[question["id"]]["correct"]:
            page.locator(f"#q-{question['id']}-{choice}").check()
    with page.expect_navigation():
        page.get_by_role("button", name="回答を送信する").click()
    with page.expect_navigation():
        page.get_by_role("link", name="確認誓約へ進む").click()
    assert "社内アカウントのログイン画面が開きます" in main_text(page)
    assert page.locator("#password").count() == 0
    page.screenshot(path=str(screenshot_dir / "sso-attest.png"), full_page=True)
    with page.expect_navigation(url=re.compile(re.escape(oidc_provider.issuer))):
        page.get_by_role("button", name="確認して誓約する").click()
    assert "prompt" in page.content()  # the provider asks for the password again (prompt=login)
    _sign_in_at_provider(page, oidc_provider, "E1001")
    assert "確認誓約を記録しました" in main_text(page)
    page.screenshot(path=str(screenshot_dir / "sso-attested.png"), full_page=True)
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.employee_no == "E1001"))
        latest = db.session.scalars(select(Attestation).where(Attestation.person_id == person.id)
                                    .order_by(Attestation.id.desc())).first()
        assert latest.attempt_id == attempt_id and latest.signature_method == "oidc"
        assert latest.signed_auth_time is not None and len(latest.signature_token_hash) == 64
        db.session.remove()

    with page.expect_navigation(url=re.compile(re.escape(oidc_provider.issuer))):
        page.locator(".site-header__account form button").click()
    page.screenshot(path=str(screenshot_dir / "sso-provider-logout.png"), full_page=True)
    with page.expect_navigation(url=re.compile(re.escape(f"{base_url}/login"))):
        page.get_by_role("button", name="Yes, sign me out").click()
    assert "ログアウトしました" in main_text(page)
    page.goto("/")
    assert page.url.startswith(f"{base_url}/login")
    # Signed out at the provider too: the company sign-in asks for the password again.
    with page.expect_navigation():
        page.get_by_role("link", name="社内アカウントでログイン").click()
    assert page.locator("input[name=login]").count() == 1


def test_sign_out_helper_still_works_for_password_sign_ins(sso_page):
    """A local account on the same portal signs out here only."""
    from tests.browser.helpers import sign_in

    sign_in(sso_page, "S6001")
    sign_out(sso_page)
    assert sso_page.url.endswith("/login")
