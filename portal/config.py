"""Configuration read from the environment (PORTAL_* variables)."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

#: The largest request body any view reads unless it declares more (portal/core/bounds.py).
MAX_REQUEST_BYTES = 1024 * 1024


def _flag(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes" are true)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _secret(instance_path: Path, variable: str, file_name: str) -> str:
    """Use the environment variable, or a key generated once into instance/ (never in the repo)."""
    configured = os.environ.get(variable)
    if configured:
        return configured
    key_file = instance_path / file_name
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: of two processes starting at once, one writes the key and both read it
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _secret_key(instance_path: Path) -> str:
    """Use PORTAL_SECRET_KEY, or a key generated once into instance/secret_key."""
    return _secret(instance_path, "PORTAL_SECRET_KEY", "secret_key")


def load_config(instance_path: Path) -> dict:
    """Build the Flask config mapping from the environment."""
    database_url = os.environ.get("PORTAL_DATABASE_URL") or (
        f"sqlite:///{instance_path / 'portal.sqlite3'}"
    )
    secure_cookies = not _flag("PORTAL_INSECURE_HTTP", False)
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No pool_pre_ping: idle connections are pinged instead (portal/core/pool_ping.py).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # Sessions: signed cookie, checked against the person's session_version.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_NAME": "portal_session",
        # The cookie is re-sent only when the session changed (the last-use stamp, once a minute):
        # the server enforces the idle and absolute lifetimes from the stamps inside the cookie, so
        # re-signing and re-sending it on every request bought nothing.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(os.environ.get("PORTAL_SESSION_ABSOLUTE_HOURS", "10"))),
        "PORTAL_SESSION_IDLE_MINUTES": int(os.environ.get("PORTAL_SESSION_IDLE_MINUTES", "30")),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Rate limiting: memory for one process, redis:// when instances share load.
        "RATELIMIT_STORAGE_URI": os.environ.get("PORTAL_RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": False,
        # Number of proxies whose X-Forwarded-For is trusted; 0 means none.
        "PORTAL_TRUSTED_PROXIES": int(os.environ.get("PORTAL_TRUSTED_PROXIES", "0")),
        # SSO reverse proxy mode: the header naming the signed-in employee_no. Off when empty.
        "PORTAL_SSO_HEADER": os.environ.get("PORTAL_SSO_HEADER", ""),
        # The public demo only (`make run` sets it): privileged people who have not set up a second
        # factor sign in with their password alone. Off by default: production always asks for it.
        "PORTAL_DEMO_RELAX_2FA": _flag("PORTAL_DEMO_RELAX_2FA", False),
        # Company SSO over OpenID Connect (portal/auth/oidc.py). Off while the issuer is empty.
        "PORTAL_OIDC_ISSUER": os.environ.get("PORTAL_OIDC_ISSUER", ""),
        "PORTAL_OIDC_CLIENT_ID": os.environ.get("PORTAL_OIDC_CLIENT_ID", ""),
        "PORTAL_OIDC_CLIENT_SECRET": os.environ.get("PORTAL_OIDC_CLIENT_SECRET", ""),
        "PORTAL_OIDC_EMPLOYEE_CLAIM": os.environ.get("PORTAL_OIDC_EMPLOYEE_CLAIM", "employee_no"),
        "PORTAL_OIDC_SCOPES": os.environ.get("PORTAL_OIDC_SCOPES", "openid profile email"),
        # Who may sign in with a local password: all, agencies-and-admins or off.
        "PORTAL_LOCAL_LOGIN": os.environ.get("PORTAL_LOCAL_LOGIN", "all").strip().lower(),
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Tokyo",
        "PORTAL_LOCALES": ("ja", "en"),
        "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000"),
        "PORTAL_MANUALS_DIR": os.environ.get("PORTAL_MANUALS_DIR", ""),
        "PORTAL_QUIZZES_DIR": os.environ.get("PORTAL_QUIZZES_DIR", ""),
        "PORTAL_ORG_UPLOAD_DIR": os.environ.get("PORTAL_ORG_UPLOAD_DIR", str(instance_path / "org_imports")),
        "PORTAL_MAIL_DIR": os.environ.get("PORTAL_MAIL_DIR", str(instance_path / "mail")),
        "PORTAL_SMTP_URL": os.environ.get("PORTAL_SMTP_URL", ""),
        "PORTAL_MAIL_FROM": os.environ.get("PORTAL_MAIL_FROM", "portal@example.invalid"),
        # Certificates and reminders: the issuer printed on certificates, an optional
        # seal image under portal/static/, and how many days ahead "due soon" reminders start.
        "PORTAL_ISSUER_NAME": os.environ.get("PORTAL_ISSUER_NAME", "東日本電信電話株式会社 研修管理部"),
        "PORTAL_CERTIFICATE_SEAL": os.environ.get("PORTAL_CERTIFICATE_SEAL", ""),
        "PORTAL_REMINDER_DAYS_BEFORE": int(os.environ.get("PORTAL_REMINDER_DAYS_BEFORE", "7")),
        "PORTAL_VERIFY_RATE_LIMIT": os.environ.get("PORTAL_VERIFY_RATE_LIMIT", "30 per minute"),
        # The audit trail: the key of its hashes (outside the database), keys before a rotation, where
        # the signed daily anchors go and who receives them (portal/audit/keys.py, anchors.py).
        "PORTAL_AUDIT_KEY": _secret(instance_path, "PORTAL_AUDIT_KEY", "audit_key"),
        "PORTAL_AUDIT_KEYS_OLD": os.environ.get("PORTAL_AUDIT_KEYS_OLD", ""),
        "PORTAL_AUDIT_ANCHOR_DIR": os.environ.get("PORTAL_AUDIT_ANCHOR_DIR", str(instance_path / "audit_anchors")),
        "PORTAL_AUDITOR_MAIL": os.environ.get("PORTAL_AUDITOR_MAIL", ""),
        # No request body beyond 1 MiB is read (413 first); the upload views raise it for themselves.
        "MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES,
        # The compliance team's address: told (with the grant owners) when a department is over its cap.
        "PORTAL_COMPLIANCE_MAIL": os.environ.get("PORTAL_COMPLIANCE_MAIL", ""),
        # Background work: the Huey queue (empty: a SQLite file under instance/, for one machine;
        # redis://host:6379/0 when several hosts run consumers), where job results are kept, when
        # the daily tasks run (JST), and after how long a silent consumer's work is taken over.
        "PORTAL_JOBS_URL": os.environ.get("PORTAL_JOBS_URL", ""),
        "PORTAL_JOBS_SQLITE": str(instance_path / "jobs.sqlite3"),
        #: The queue's name (its keys' prefix in Redis): two portals sharing one Redis need two names.
        "PORTAL_JOBS_NAME": os.environ.get("PORTAL_JOBS_NAME", "portal"),
        "PORTAL_FILES_DIR": os.environ.get("PORTAL_FILES_DIR", str(instance_path / "files")),
        "PORTAL_DAILY_AT": os.environ.get("PORTAL_DAILY_AT", "07:15"),
        "PORTAL_JOBS_LEASE_SECONDS": int(os.environ.get("PORTAL_JOBS_LEASE_SECONDS", "60")),
        "PORTAL_JOBS_KEEP_DAYS": int(os.environ.get("PORTAL_JOBS_KEEP_DAYS", "7")),
        #: A job that took at least this long (from the click to its end) mails the person who started it.
        "PORTAL_JOBS_MAIL_AFTER_SECONDS": int(os.environ.get("PORTAL_JOBS_MAIL_AFTER_SECONDS", "60")),
        #: Certificates rendered per part of a bulk export job (the unit consumers share and take over).
        "PORTAL_JOBS_CERTIFICATES_PER_PART": int(os.environ.get("PORTAL_JOBS_CERTIFICATES_PER_PART", "200")),
    }


def engine_options(database_url: str, options: dict) -> dict:
    """The engine options for a database: on PostgreSQL, sessions start with JIT compilation off.

    PostgreSQL JIT-compiles a statement whose estimated cost passes jit_above_cost. The portal's
    statements are short reads of a few thousand rows, but their estimates jump whenever table
    statistics lag (right after the nightly settle rewrites the training status rows): the department
    dashboard's status statement then spent 55 of its 73 ms compiling, 19 ms without
    (bench/bench_dashboards.py). Passed in the connection's start-up options: no extra round trip.
    """
    if not str(database_url).startswith("postgresql"):
        return dict(options)
    connect_args = dict(options.get("connect_args") or {})
    connect_args["options"] = f"{connect_args.get('options', '')} -c jit=off".strip()
    return {**options, "connect_args": connect_args}
