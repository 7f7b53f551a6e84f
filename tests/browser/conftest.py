"""The real portal served on 127.0.0.1 with the demo organisation, and Debian's Chromium.

A test tool's own browser download fails on these machines, so Playwright drives
/usr/bin/chromium. Without it the browser tests are skipped, saying so, except in CI
(CI set), where a missing Chromium fails the run.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db

#: Debian's Chromium; PORTAL_CHROMIUM names another build of Chromium elsewhere.
CHROMIUM = Path(os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser/ is marked `browser`."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI never skips the browser tests", pytrace=False)
    pytest.skip(f"browser tests SKIPPED: {reason}")


@pytest.fixture(scope="session")
def portal_app(tmp_path_factory):
    """The portal on a migrated SQLite file holding the demo organisation (as `portal demo`)."""
    folder = tmp_path_factory.mktemp("browser-portal")
    application = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'portal.sqlite3'}",
        "SECRET_KEY": "browser-test-secret",
        "SESSION_COOKIE_SECURE": False,  # as PORTAL_INSECURE_HTTP=1: plain http on 127.0.0.1
        "REMEMBER_COOKIE_SECURE": False,
        "PORTAL_MAIL_DIR": str(folder / "mail"),
        # A queue in this process's memory, run by the tests themselves (tests/browser/helpers.py:
        # run_queue), so that the pages show a job waiting, then its progress, then its result.
        "PORTAL_JOBS_URL": "memory://",
        "PORTAL_FILES_DIR": str(folder / "files"),
    })
    runner = application.test_cli_runner()
    for command in (["init"], ["demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    with application.app_context():
        db.engine.dispose()  # the server thread opens its own connections
    return application


@pytest.fixture(scope="session")
def base_url(portal_app):
    """http://127.0.0.1:<free port>, served from a background thread for the whole session."""
    server = make_server("127.0.0.1", 0, portal_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="portal-browser-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with portal_app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright, headless."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed (Debian package: chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """Where browser tests leave screenshots (PORTAL_SCREENSHOT_DIR keeps them somewhere known)."""
    chosen = os.environ.get("PORTAL_SCREENSHOT_DIR")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        return Path(chosen)
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser, base_url):
    """A fresh browser window (no cookies) in Japanese; fails the test on any CSP violation."""
    context = browser.new_context(base_url=base_url, locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    problems: list[str] = []
    new_page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" else None)
    new_page.on("pageerror", lambda error: problems.append(str(error)))
    yield new_page
    context.close()
    # Sign-in failures answer 401 and the browser logs that as a failed resource; only
    # script errors and policy violations are problems.
    real = [p for p in problems if "status of 401" not in p]
    assert real == [], f"browser console errors: {real}"
