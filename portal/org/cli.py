"""`portal org import`: sync people and departments from an HR CSV export."""
from __future__ import annotations

import getpass
import hashlib
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.org.hr_csv import ENCODINGS, RowError, UndecodableFile, decode, parse_hr_csv
from portal.org.messages import COUNT_LABELS, describe_error, describe_plan
from portal.org.services import apply_sync, known_department_codes, lock_organisation, plan_sync


@click.group("org")
def org_group() -> None:
    """The organisation (departments and people)."""


@org_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--encoding", type=click.Choice(ENCODINGS, case_sensitive=False), default="utf-8", show_default=True,
              help="utf-8 (with or without BOM) or cp932 (Shift_JIS as Japanese HR systems export it).")
@click.option("--deactivate-missing", is_flag=True, help="Deactivate active people absent from the file (never deletes).")
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True, help="Language of the messages.")
@with_appcontext
def import_command(csv_file: Path, encoding: str, deactivate_missing: bool, dry_run: bool, lang: str) -> None:
    """Sync from an HR export; a file with any bad row is refused as a whole (exit 1)."""
    with force_locale(lang):
        _import(csv_file, encoding.lower(), deactivate_missing, dry_run)


def _import(csv_file: Path, encoding: str, deactivate_missing: bool, dry_run: bool) -> None:
    raw = csv_file.read_bytes()
    try:
        text = decode(raw, encoding)
    except UndecodableFile as error:
        _refuse(csv_file, [error.error])
    lock_organisation()  # plan and apply against one state, even with a web import running
    rows, errors = parse_hr_csv(text, known_department_codes())
    if errors:
        db.session.rollback()
        _refuse(csv_file, errors)
    plan = plan_sync(rows, deactivate_missing=deactivate_missing)
    if dry_run:
        for line in describe_plan(plan):
            click.echo(line)
    for name, count in plan.counts().items():
        click.echo(f"{COUNT_LABELS[name]}: {count}")
    if dry_run or plan.is_empty:
        db.session.rollback()
        click.echo(_("Dry run: nothing was written.") if dry_run else _("Nothing to change."))
        return
    try:
        apply_sync(None, plan, csv_file.name, details={
            "operator": _operator(), "sha256": hashlib.sha256(raw).hexdigest(),
            "encoding": encoding, "deactivate_missing": deactivate_missing})
        db.session.commit()
    except IntegrityError:  # another import got in between (SQLite has no organisation lock)
        db.session.rollback()
        click.echo(_("%(file)s: the organisation changed during the import; nothing was changed. Run it again.",
                     file=csv_file), err=True)
        sys.exit(1)
    click.echo(_("Applied."))


def _operator() -> str:
    """Who ran the command (the audit event has no signed-in actor)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _refuse(csv_file: Path, errors: list[RowError]) -> None:
    for error in errors:
        click.echo(f"{csv_file}: {describe_error(error)}", err=True)
    click.echo(_("%(file)s: refused, %(count)s problem(s); nothing was changed.", file=csv_file, count=len(errors)), err=True)
    sys.exit(1)
