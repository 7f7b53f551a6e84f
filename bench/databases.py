"""A throwaway PostgreSQL database for one benchmark run, shared by the bench scripts."""
from __future__ import annotations

import contextlib
import os
import uuid
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str | None]:
    """Yield the URL of a new, empty database (dropped afterwards), or None when no server answers."""
    url = make_url(os.environ.get("PORTAL_BENCH_POSTGRES_URL") or os.environ.get("PORTAL_TEST_POSTGRES_URL")
                   or DEFAULT_POSTGRES)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"portal_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # no server here: say so, the caller measures the rest
        print(f"PostgreSQL skipped: {type(error).__name__}: {str(error).splitlines()[0]}")
        admin.dispose()
        yield None
        return
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
