"""Fixtures: a fresh, migrated database per test on SQLite, and on PostgreSQL when
PORTAL_TEST_POSTGRES_URL is set; factories for departments and people; signed-in clients;
`count_queries`. Each feature's fixtures live in tests/<feature>_fixtures.py and are registered
once below (`pytest_plugins`): a test takes them as arguments and never imports them by name."""
from __future__ import annotations

import contextvars
import itertools
import os
import shutil
import threading
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from portal import create_app
from portal.auth.passwords import hash_password
from portal.extensions import db
from portal.org.models import Department, Person, PersonRole

pytest_plugins = [  # a module listed after the ones it imports, so that pytest rewrites its asserts
    "tests.clock",
    "tests.org_fixtures",
    "tests.access_fixtures",
    "tests.accounts_fixtures",
    "tests.training_fixtures",
    "tests.certificates_fixtures",
    "tests.instructions_fixtures",
    "tests.jobs_fixtures",
    "tests.lookups_fixtures",
    "tests.manuals_fixtures",
    "tests.oidc_fixtures",
    "tests.workflow_fixtures",
]


def pytest_configure(config):
    """argon2 at its cheapest under test: with the real parameters every sign-in costs ~0.2 s of CPU.

    The hash format names its parameters, so verification follows whatever hashed it.
    """
    from argon2 import PasswordHasher

    from portal.auth import passwords

    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    passwords._DUMMY_HASH = passwords._hasher.hash("not-a-real-password")
    _share_url_builders()


def _share_url_builders() -> None:
    """Every test creates an app, and werkzeug compiles a Python function per URL rule for each
    (two per rule: ~70 % of create_app's ~0.13 s). The function depends only on the rule's text,
    defaults and converters (it reads the rule itself through its first argument), so under test
    one is compiled per rule and shared by every app of the session."""
    from werkzeug.routing.rules import Rule

    original = getattr(Rule, "_compile_builder", None)
    if original is None:  # a werkzeug without it: every app compiles its own, as in production
        return
    builders: dict[tuple, object] = {}
    lock = threading.Lock()

    def compile_builder(rule, append_unknown=True):
        key = (type(rule), rule.rule, rule.subdomain, rule.host, rule.merge_slashes, rule.map.host_matching,
               repr(sorted((rule.defaults or {}).items())), tuple(rule._trace), append_unknown)
        with lock:
            builder = builders.get(key)
        if builder is None:
            builder = original(rule, append_unknown)
            with lock:
                builders[key] = builder
        return builder

    Rule._compile_builder = compile_builder


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Refuse real_clock markers that do not say why; put the long files first.

    pytest-xdist hands whole files to its workers in the order collected here (pyproject sets
    --no-loadscope-reorder). Its own order, most tests first, left the browser files (few tests,
    each long) to the end of the run, on one worker while the other idled. Here the browser files
    come first, then the files whose tests drive other processes (marked real_clock: servers,
    queue consumers), then the rest, most tests first; the short files fill in at the end.
    """
    from tests.clock import check_real_clock_marker

    for item in items:
        check_real_clock_marker(item)
    browser = Path(__file__).resolve().parent / "browser"
    by_file = Counter(item.path for item in items)
    other_processes = {item.path for item in items if item.get_closest_marker("real_clock") is not None}
    items.sort(key=lambda item: (browser not in item.path.parents, item.path not in other_processes,
                                 -by_file[item.path]))


POSTGRES_URL = os.environ.get("PORTAL_TEST_POSTGRES_URL", "")
PASSWORD = "correct-horse-battery"
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


def _migrate(url: str, instance: Path) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "t"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()


def _admin_engine():
    return create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file, copied for every test."""
    path = tmp_path_factory.mktemp("tmpl") / "template.sqlite3"
    _migrate(f"sqlite:///{path}", path.parent)
    return path


@pytest.fixture(scope="session")
def postgres_template():
    """One migrated PostgreSQL database used as CREATE DATABASE … TEMPLATE."""
    if not POSTGRES_URL:
        pytest.skip("PORTAL_TEST_POSTGRES_URL is not set")
    name = f"portal_tmpl_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _migrate(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), Path("."))
    yield name
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


#: What a test could change in a database's schema (tables, columns, constraints, triggers and
#: whether they are enabled, functions); a database whose schema differs from the template's after
#: a test is dropped instead of reused.
_SCHEMA = """
SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
  SELECT concat_ws(':', c.relname, c.relkind) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public'
  UNION ALL SELECT concat_ws(':', a.attrelid::regclass, a.attname, a.atttypid, a.attnotnull)
   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT concat_ws(':', t.tgrelid::regclass, t.tgname, t.tgenabled) FROM pg_trigger t
  UNION ALL SELECT concat_ws(':', co.conrelid::regclass, co.conname, co.convalidated) FROM pg_constraint co
   JOIN pg_namespace n ON n.oid = co.connamespace WHERE n.nspname = 'public'
  UNION ALL SELECT concat_ws(':', p.proname, md5(p.prosrc)) FROM pg_proc p
   JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
) AS schema(item)
"""


class PostgresDatabases:
    """Fresh PostgreSQL databases for the tests of this process, without a CREATE DATABASE and a
    DROP DATABASE per test (~0.45 s on an idle machine, seconds on a busy one where each DROP waits
    for a checkpoint). A database a test used is emptied back to the template's state and handed to
    the next test, in one round trip: its other sessions ended (their locks, advisory ones too, go
    with them), every row deleted with triggers off (session_replication_role = replica; the
    append-only triggers stay in place), the rows the migrations wrote put back, every sequence set
    back. If the test changed the schema (dropped or disabled a trigger, say), the database is
    dropped and the next test gets a new clone of the template. (TRUNCATE instead of DELETE costs
    ~0.9 s: it makes new files.) Rows then come back in whatever order they lie on disk, not always
    the order they were written, as in production: a test that reads rows says ORDER BY."""

    def __init__(self, template: str):
        self.template, self.admin = template, _admin_engine()
        self.names = (f"portal_t_{os.getpid()}_{n}" for n in itertools.count())
        self.free: list[str] = []
        self.engines: dict[str, object] = {}
        engine = create_engine(self.url(template), poolclass=NullPool)
        with engine.connect() as conn:
            self.schema = conn.scalar(text(_SCHEMA))
            tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
            statements = ["SET LOCAL session_replication_role = replica", "SET LOCAL lock_timeout = '10s'"]
            statements += [f'DELETE FROM "{table}"' for table in tables]
            for table in tables:  # the rows the migrations wrote, as INSERTs with their values spelled out
                statements += conn.scalars(text(
                    "SELECT format('INSERT INTO %I SELECT * FROM json_populate_recordset(NULL::%I, %L)', "
                    "CAST(:table AS text), CAST(:table AS text), json_agg(row)::text) "
                    f'FROM "{table}" AS row HAVING count(*) > 0'), {"table": table}).all()
            for sequence, last_value in conn.execute(text(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")):
                statements.append(f'ALTER SEQUENCE "{sequence}" RESTART' if last_value is None
                                  else f"SELECT setval('\"{sequence}\"', {int(last_value)})")
        engine.dispose()
        self.reset = ";\n".join(statements)

    @staticmethod
    def url(name: str) -> str:
        """The URL of database `name` on the test server."""
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def take(self) -> str:
        """A database in the template's state that no other test is using."""
        if self.free:
            return self.free.pop()
        name = next(self.names)
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.engines[name] = create_engine(self.url(name), poolclass=NullPool)
        return name

    def give_back(self, name: str) -> None:
        """Empty a database a test used back to the template's state, or drop it if its schema changed."""
        with self.engines[name].begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            changed = conn.scalar(text(_SCHEMA)) != self.schema
            if not changed:
                conn.connection.driver_connection.execute(self.reset)  # several statements: no parameters
        if changed:
            self.drop(name)
        else:
            self.free.append(name)

    def drop(self, name: str) -> None:
        """Drop one database of this process."""
        self.engines.pop(name).dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        """Drop every database of this process."""
        for name in list(self.engines):
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases(postgres_template):
    """This process's supply of fresh PostgreSQL databases (PostgresDatabases)."""
    databases = PostgresDatabases(postgres_template)
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A fresh database for one test: a copy of the SQLite template, or a PostgreSQL clone."""
    if request.param == "sqlite":
        path = tmp_path / "portal.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("postgres_databases")
    name = databases.take()
    yield databases.url(name)
    databases.give_back(name)


@pytest.fixture
def app_overrides() -> dict:
    """Tests may override this to change configuration."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_overrides):
    """The portal bound to this test's database, inside an app context."""
    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "PORTAL_MAIL_DIR": str(tmp_path / "mail"),
        "PORTAL_ORG_UPLOAD_DIR": str(tmp_path / "org_imports"),  # not the real instance folder
        # Privileged test people sign in with their password alone unless a test enrols a second
        # factor or sets this False in app_overrides (tests/auth/test_accounts_two_factor.py does).
        "PORTAL_DEMO_RELAX_2FA": True,
        **app_overrides,
    }
    application = create_app(config)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (own g, own db session), as in production,
    even though the test itself holds an app context for its own queries."""

    def open(self, *args, **kwargs):
        def run():
            _cv_app.set(None)
            return FlaskClient.open(self, *args, **kwargs)

        return contextvars.copy_context().run(run)


def https_client(app):
    """A browser-like client on https (the session cookie is Secure)."""
    app.test_client_class = IsolatedClient
    test_client = app.test_client()
    test_client.environ_base["wsgi.url_scheme"] = "https"
    return test_client


@pytest.fixture
def client(app):
    """A browser-like client on https (the session cookie is Secure)."""
    return https_client(app)


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash of PASSWORD, shared (hashing is deliberately slow)."""
    return hash_password(PASSWORD)


@pytest.fixture
def make_department(app):
    """Create a department: make_department("D1", kind="agency")."""

    def make(code: str = "D1", name_ja: str | None = None, kind: str = "internal", name_en: str = "") -> Department:
        department = Department(code=code, name_ja=name_ja or f"{code}部", name_en=name_en or code, kind=kind)
        db.session.add(department)
        db.session.commit()
        return department

    return make


@pytest.fixture
def make_person(app, make_department, password_hash):
    """Create a person who can sign in with PASSWORD: make_person("E1", roles=("manager",), manages=[dept])."""
    numbers = itertools.count(1)

    def make(employee_no: str | None = None, *, roles=(), department: Department | None = None,
             manages=(), name: str = "山田 太郎", name_kana: str = "やまだ たろう", active: bool = True) -> Person:
        if department is None:
            department = db.session.query(Department).filter_by(code="D1").one_or_none() or make_department("D1")
        person = Person(employee_no=employee_no or f"X{next(numbers):05d}", name=name, name_kana=name_kana,
                        email="p@example.co.jp", department=department, active=active, password_hash=password_hash)
        person.role_rows = [PersonRole(role=role) for role in roles if role != "employee"]
        person.managed_departments = list(manages)
        db.session.add(person)
        db.session.commit()
        return person

    return make


def sign_in(client, person: Person, password: str = PASSWORD):
    """Sign a test client in through the real form (CSRF is off only in this helper's app? no: token fetched)."""
    page = client.get("/login")
    token = _csrf_token(page.get_data(as_text=True))
    return client.post("/login", data={"employee_no": person.employee_no, "password": password, "csrf_token": token})


def _csrf_token(html: str) -> str:
    marker = 'name="csrf_token" type="hidden" value="'
    start = html.find(marker)
    if start < 0:
        marker = 'name="csrf_token" value="'
        start = html.find(marker)
    assert start >= 0, "no CSRF token on the page"
    start += len(marker)
    return html[start:html.find('"', start)]


def csrf_token_from(client, path: str = "/") -> str:
    """A valid CSRF token for this client's session, read from a page it may see."""
    return _csrf_token(client.get(path).get_data(as_text=True))


@pytest.fixture
def login(client):
    """Sign the client in as a person: login(person)."""

    def do(person: Person, password: str = PASSWORD):
        response = sign_in(client, person, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do


@pytest.fixture
def count_queries(app):
    """`with count_queries() as statements:` collects the SQL statements the block sends (one per cursor execute)."""

    @contextmanager
    def counting(engine=None):
        engine = engine or db.engine
        statements: list[str] = []

        def listen(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", listen)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", listen)

    return counting
