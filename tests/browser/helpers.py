"""Steps that browser tests share: signing in as a demo person, reading the page's text.

Later features reuse these: `sign_in(page, "M2001")` leaves the page on the home page.
The page's context must have been made with base_url (the `page` fixture does that).
"""
from __future__ import annotations

from playwright.sync_api import Page

from portal.demo.organisation import DEMO_PASSWORD


def sign_in(page: Page, employee_no: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real form and wait until the next page has loaded."""
    page.goto("/login")
    page.fill("#employee_no", employee_no)
    page.fill("#password", password)
    with page.expect_navigation():
        page.locator("main form button").click()


def sign_out(page: Page) -> None:
    """Press the header's sign-out button and wait for the login page."""
    with page.expect_navigation():
        page.locator(".site-header__account form button").click()


def switch_language(page: Page) -> None:
    """Press the header's language button (English ⇄ 日本語) and wait for the page to reload."""
    with page.expect_navigation():
        page.locator(".lang-switch button").click()


def main_text(page: Page) -> str:
    """The visible text of the page's main area."""
    return page.locator("main").inner_text()


def run_queue(app) -> int:
    """Run the jobs and mail the pages queued (the consumer's part), here in the test."""
    from portal.jobs.queue import run_pending

    return run_pending(app)
