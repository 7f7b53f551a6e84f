"""The application factory: configuration, extensions, blueprints, CLI and errors."""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import engine_options, load_config
from portal.extensions import babel, csrf, db, limiter, migrate

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(overrides: dict | None = None) -> Flask:
    """Build a configured portal application."""
    app = Flask(__name__, instance_relative_config=True)
    _configure(app, overrides or {})
    _init_extensions(app)
    _register_blueprints(app)
    _register_request_hooks(app)
    _register_cli(app)
    return app


def _configure(app: Flask, overrides: dict) -> None:
    from portal.audit.keys import keyring_from
    from portal.core.bounds import BoundedIntConverter, PortalRequest

    instance_path = Path(app.instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(instance_path))
    app.config.update(overrides)
    if app.testing and "PORTAL_AUDIT_ANCHOR_DIR" not in overrides and not os.environ.get("PORTAL_AUDIT_ANCHOR_DIR"):
        # A test database must never be checked against the anchors of the instance's real trail.
        app.config["PORTAL_AUDIT_ANCHOR_DIR"] = ""
    keyring_from(app.config["PORTAL_AUDIT_KEY"], app.config["PORTAL_AUDIT_KEYS_OLD"])  # refuse a bad key at start
    app.request_class = PortalRequest
    app.url_map.converters["int"] = BoundedIntConverter  # before any blueprint adds an <int:…> rule
    if app.config.get("TESTING"):
        _test_defaults(app, overrides)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"],
                                                             app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    proxies = app.config["PORTAL_TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def _test_defaults(app: Flask, overrides: dict) -> None:
    """Tests run queued work at once, in the caller (Huey's immediate mode), and keep job files in a
    temporary folder, never in instance/; tests of the queue itself choose memory:// (run with
    portal.jobs.queue.run_pending) or a real storage."""
    if not app.config.get("PORTAL_JOBS_URL"):
        app.config["PORTAL_JOBS_URL"] = "immediate://"
    if "PORTAL_FILES_DIR" not in overrides and not os.environ.get("PORTAL_FILES_DIR"):
        # Created only when a job writes a file there.
        app.config["PORTAL_FILES_DIR"] = os.path.join(tempfile.gettempdir(), f"portal-test-files-{uuid.uuid4().hex}")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL, foreign keys and a busy timeout on every SQLite connection."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _init_extensions(app: Flask) -> None:
    from portal.auth.loader import init_login
    from portal.core.i18n import register_i18n, select_locale
    from portal.core.navigation import register_navigation
    from portal.core.pool_ping import ping_idle_connections
    from portal.core.rate_limits import limit_in_views_only, skip_machine_calls

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    skip_machine_calls(limiter)
    limiter.init_app(app)
    limit_in_views_only(app, limiter)
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Tokyo")
    init_login(app)
    register_i18n(app)
    register_navigation(app)
    _import_models()


def _import_models() -> None:
    """Every model module, so metadata (and migrations) know every table."""
    from portal import models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from portal.blueprints import BLUEPRINTS
    from portal.wiring import wire_features

    for blueprint in BLUEPRINTS():
        app.register_blueprint(blueprint)
    wire_features()


def _register_request_hooks(app: Flask) -> None:
    from portal.access.fast_api import install as install_decision_fast_path
    from portal.core.access import enforce_access
    from portal.core.errors import register_error_handlers
    from portal.core.security import add_security_headers
    from portal.core.sessions import CookieSessionInterface

    app.session_interface = CookieSessionInterface()
    app.before_request(enforce_access)
    app.after_request(add_security_headers)
    register_error_handlers(app)
    install_decision_fast_path(app)  # the decision API's hot call skips Flask's per-request work


def _register_cli(app: Flask) -> None:
    from portal.commands import register_commands

    register_commands(app)
