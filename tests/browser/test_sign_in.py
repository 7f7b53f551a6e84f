"""A person in a real browser: sign in per role, reach home, switch language, sign out."""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal.core.navigation import HOME_SECTIONS
from portal.demo.organisation import DEMO_ACCOUNTS
from tests.browser.helpers import main_text, sign_in, sign_out, switch_language

#: One demo sign-in per role (portal/demo/organisation.py; the README lists them).
ROLE_ACCOUNTS = {"employee": "E1001", "manager": "M2001", "training_admin": "T3001",
                 "grant_owner": "G4001", "auditor": "A5001", "admin": "S6001"}
NAMES = {account[0]: account[1] for account in DEMO_ACCOUNTS}


def _in_japanese(app, text) -> str:
    with app.test_request_context(), force_locale("ja"):
        return str(text)


def _section_titles(app, roles) -> list[str]:
    return [_in_japanese(app, section.title) for section in HOME_SECTIONS if section.role in roles]


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_each_role_signs_in_and_sees_its_home(page, portal_app, screenshot_dir, role):
    employee_no = ROLE_ACCOUNTS[role]
    sign_in(page, employee_no)
    assert page.url.endswith("/")
    text = main_text(page)
    assert f"こんにちは、{NAMES[employee_no]}さん" in text
    headings = page.locator("main section h2").all_inner_texts()
    for title in _section_titles(portal_app, {"employee", role}):
        assert title in headings
    own = set(_section_titles(portal_app, {"employee", role}))
    others = {section.role for section in HOME_SECTIONS} - {"employee", role}
    for title in set(_section_titles(portal_app, others)) - own:  # two roles may share a title
        assert title not in headings, f"{employee_no} ({role}) sees another role's section {title!r}"
    assert page.locator("html").get_attribute("lang") == "ja"
    page.screenshot(path=str(screenshot_dir / f"home-{role}.png"), full_page=True)


def test_language_switches_to_english_and_back(page):
    sign_in(page, "E1001")
    switch_language(page)
    assert page.locator("html").get_attribute("lang") == "en"
    assert f"Hello, {NAMES['E1001']}" in main_text(page)
    assert page.locator(".lang-switch button").inner_text() == "日本語"
    switch_language(page)
    assert page.locator("html").get_attribute("lang") == "ja"
    assert f"こんにちは、{NAMES['E1001']}さん" in main_text(page)


def test_language_choice_before_sign_in_is_kept(page):
    page.goto("/login")
    switch_language(page)
    assert page.locator("h1").inner_text() == "Sign in"
    sign_in(page, "A5001")
    assert f"Hello, {NAMES['A5001']}" in main_text(page)
    switch_language(page)  # leave the demo person's preference in Japanese
    assert page.locator("html").get_attribute("lang") == "ja"


def test_sign_out_returns_to_the_login_page_and_home_needs_sign_in_again(page):
    sign_in(page, "M2001")
    sign_out(page)
    assert page.url.split("?")[0].endswith("/login")
    assert "ログアウトしました。" in main_text(page)
    page.goto("/")
    assert "/login" in page.url
    assert page.locator("#employee_no").is_visible()


def test_wrong_password_shows_the_japanese_error(page, screenshot_dir):
    sign_in(page, "E1001", password="not-the-password")
    assert "/login" in page.url
    assert "社員番号またはパスワードが正しくありません。" in main_text(page)
    assert page.locator(".error-summary").is_visible()
    assert page.locator("#password").get_attribute("aria-invalid") == "true"
    page.screenshot(path=str(screenshot_dir / "login-error.png"), full_page=True)
