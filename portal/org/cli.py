"""`portal org import`: sync people and departments from an HR CSV export."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.extensions import db
from portal.org.hr_csv import RowError, decode, parse_hr_csv
from portal.org.messages import describe_error
from portal.org.services import apply_sync, known_department_codes, plan_sync


@click.group("org")
def org_group() -> None:
    """The organisation (departments and people)."""


@org_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--encoding", type=click.Choice(["utf-8", "cp932"]), default="utf-8", show_default=True)
@click.option("--deactivate-missing", is_flag=True, help="Deactivate active people absent from the file.")
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@with_appcontext
def import_command(csv_file: Path, encoding: str, deactivate_missing: bool, dry_run: bool) -> None:
    """Sync from an HR export; a file with any bad row is refused as a whole."""
    try:
        text = decode(csv_file.read_bytes(), encoding)
    except UnicodeDecodeError:
        _refuse(csv_file, [RowError(1, "not_decodable")])
    rows, errors = parse_hr_csv(text, known_department_codes())
    if errors:
        _refuse(csv_file, errors)
    plan = plan_sync(rows, deactivate_missing=deactivate_missing)
    for name, count in plan.counts().items():
        click.echo(f"{name}: {count}")
    if dry_run or plan.is_empty:
        click.echo("dry run: nothing written" if dry_run else "nothing to change")
        db.session.rollback()
        return
    apply_sync(None, rows, plan, csv_file.name)
    db.session.commit()
    click.echo("applied")


def _refuse(csv_file: Path, errors: list[RowError]) -> None:
    for error in errors:
        click.echo(f"{csv_file}: {describe_error(error)}", err=True)
    click.echo(f"{csv_file}: refused, {len(errors)} problem(s); nothing was changed", err=True)
    sys.exit(1)
