"""Taking a backup of the portal's database and restoring it into an empty one.

SQLite: the online backup API copies a consistent snapshot while the portal keeps writing; the copy
is checked (PRAGMA integrity_check) before it replaces FILE. PostgreSQL:
`pg_dump -Fc` (custom format: compressed, restored with pg_restore), and `pg_restore
--single-transaction --exit-on-error` into an empty database, so a restore either loads
everything or nothing. The password travels in PGPASSWORD, never on a command line others can read.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why, for the operator."""


def _sqlite_path(url) -> Path:
    return Path(url.database)


def _libpq(url) -> tuple[list[str], dict]:
    """Connection arguments for pg_dump/pg_restore, and the environment carrying the password."""
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432), "--dbname", url.database]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(command: list[str], env: dict) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


def backup(database_url: str, target: Path) -> None:
    """Write a backup of the database into `target` (through target.part, renamed when complete)."""
    url = make_url(database_url)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            source = sqlite3.connect(_sqlite_path(url))
            copy = sqlite3.connect(partial)
            try:
                # One step: a read transaction on a WAL database is a consistent snapshot that never blocks
                # writers (copied in steps, a backup would start again after every write by another process).
                source.backup(copy)
                if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise BackupError("the copy failed its integrity check")
            finally:
                copy.close()
                source.close()
        elif url.get_backend_name() == "postgresql":
            args, env = _libpq(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(partial), *args], env)
        else:
            raise BackupError(f"no backup method for {url.get_backend_name()}")
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _is_empty(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(source: Path, database_url: str) -> None:
    """Load a backup into an empty database of the same kind (refused if the database has tables)."""
    url = make_url(database_url)
    with open(source, "rb") as handle:
        magic = handle.read(16)
    backend = url.get_backend_name()
    if backend == "sqlite" and not magic.startswith(SQLITE_MAGIC):
        raise BackupError(f"{source} is not a SQLite backup")
    if backend == "postgresql" and not magic.startswith(PG_CUSTOM_MAGIC):
        raise BackupError(f"{source} is not a pg_dump custom-format backup")
    if not _is_empty(database_url):
        raise BackupError("the database is not empty: restore only into a new, empty database")
    if backend == "sqlite":
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = sqlite3.connect(_sqlite_path(url))
        try:
            backup_db.backup(target)
        finally:
            target.close()
            backup_db.close()
        return
    args, env = _libpq(url)
    _run(["pg_restore", "--no-owner", "--single-transaction", "--exit-on-error", *args, str(source)], env)
