"""The real portal served on 127.0.0.1 with the demo organisation, and Debian's Chromium.

Each test module gets a database of its own, copied from the demo loaded once per session,
on SQLite and (when PORTAL_TEST_POSTGRES_URL is set) on PostgreSQL.

A test tool's own browser download fails on these machines, so Playwright drives
/usr/bin/chromium. Without it the browser tests are skipped, saying so, except in CI
(CI set), where a missing Chromium fails the run.
"""
from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from tests.conftest import BACKENDS, POSTGRES_URL, _admin_engine

#: Debian's Chromium; PORTAL_CHROMIUM names another build of Chromium elsewhere.
CHROMIUM = Path(os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser/ is marked `browser` and runs on the real clock."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.real_clock("Chromium expires the session cookie by the real date"))


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI never skips the browser tests", pytrace=False)
    pytest.skip(f"browser tests SKIPPED: {reason}")


def _demo_app(url: str, folder: Path):
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "browser-test-secret",
        "SESSION_COOKIE_SECURE": False,  # as PORTAL_INSECURE_HTTP=1: plain http on 127.0.0.1
        "REMEMBER_COOKIE_SECURE": False,
        "PORTAL_MAIL_DIR": str(folder / "mail"),
        "PORTAL_DEMO_RELAX_2FA": True,  # as `make run`: the demo sign-ins skip the second factor
        # A queue in this process's memory, run by the tests themselves (tests/browser/helpers.py:
        # run_queue), so that the pages show a job waiting, then its progress, then its result.
        "PORTAL_JOBS_URL": "memory://",
        "PORTAL_FILES_DIR": str(folder / "files"),
    })


def _load_demo(url: str, folder: Path) -> None:
    """`portal init` and `portal demo` into an empty database, as a new user would."""
    application = _demo_app(url, folder)
    runner = application.test_cli_runner()
    for command in (["init"], ["demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    with application.app_context():
        db.engine.dispose()


def _admin_sql(statement: str) -> None:
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


@pytest.fixture(scope="session")
def demo_sqlite(tmp_path_factory) -> Path:
    """The demo organisation loaded once into a SQLite file; each module gets a copy."""
    folder = tmp_path_factory.mktemp("browser-demo")
    path = folder / "demo.sqlite3"
    _load_demo(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def demo_postgres(tmp_path_factory):
    """The demo organisation loaded once into a PostgreSQL database used as a template."""
    if not POSTGRES_URL:
        pytest.skip("PORTAL_TEST_POSTGRES_URL is not set")
    name = f"portal_demo_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _load_demo(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False),
               tmp_path_factory.mktemp("browser-demo-pg"))
    yield name
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def portal_app(request, tmp_path_factory):
    """The portal with the demo organisation on a database of this module's own (SQLite, PostgreSQL)."""
    folder = tmp_path_factory.mktemp("browser-portal")
    dropped = None
    if request.param == "sqlite":
        path = folder / "portal.sqlite3"
        shutil.copy(request.getfixturevalue("demo_sqlite"), path)
        url = f"sqlite:///{path}"
    else:
        template = request.getfixturevalue("demo_postgres")
        dropped = f"portal_b_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _admin_sql(f'CREATE DATABASE "{dropped}" TEMPLATE "{template}"')
        url = make_url(POSTGRES_URL).set(database=dropped).render_as_string(hide_password=False)
    application = _demo_app(url, folder)
    yield application
    with application.app_context():
        db.engine.dispose()
    if dropped:
        _admin_sql(f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)')


@pytest.fixture(scope="module")
def base_url(portal_app):
    """http://127.0.0.1:<free port>, served from a background thread for the module's tests."""
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
