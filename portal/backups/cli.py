"""`portal backup FILE` and `portal restore FILE`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.backups.dump import BackupError, backup, restore
from portal.extensions import db


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Write a backup of the database to FILE (SQLite: a database file; PostgreSQL: pg_dump -Fc)."""
    db.engine.dispose()  # nothing of ours holds a transaction open while the copy is taken
    try:
        backup(current_app.config["SQLALCHEMY_DATABASE_URI"], file)
    except BackupError as error:
        click.echo(f"backup failed: {error}", err=True)
        sys.exit(1)
    click.echo(f"backup written to {file} ({file.stat().st_size / 1e6:.1f} MB)")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(file: Path) -> None:
    """Load a backup FILE into the configured database, which must be empty; then run `portal audit verify`."""
    db.engine.dispose()
    try:
        restore(file, current_app.config["SQLALCHEMY_DATABASE_URI"])
    except BackupError as error:
        click.echo(f"restore failed: {error}", err=True)
        sys.exit(1)
    click.echo(f"restored {file}; now run `portal init` (newer migrations) and `portal audit verify`")
