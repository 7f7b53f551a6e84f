"""`portal org import`: sync people and departments from an HR CSV export."""
from __future__ import annotations

import getpass
import hashlib
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.org.hr_csv import ENCODINGS, RowError, UndecodableFile, decode, parse_hr_csv
from portal.org.messages import COUNT_LABELS, describe_error, describe_plan
from portal.org.models import Person
from portal.org.services import apply_sync, known_department_codes, lock_organisation, plan_sync
from portal.org.sync_plan import own_role_changes


@click.group("org")
def org_group() -> None:
    """The organisation (departments and people)."""


@org_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--encoding", type=click.Choice(ENCODINGS, case_sensitive=False), default="utf-8", show_default=True,
              help="utf-8 (with or without BOM) or cp932 (Shift_JIS as Japanese HR systems export it).")
@click.option("--deactivate-missing", is_flag=True,
              help="Deactivate active people absent from the file (never deletes).")
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True,
              help="Language of the messages.")
@click.option("--operator", metavar="EMPLOYEE_NO",
              help="Your employee number, when a person (not a scheduled job) runs the import: the import is "
                   "recorded as yours, and refused if it would change your own roles or managed departments.")
@with_appcontext
def import_command(csv_file: Path, encoding: str, deactivate_missing: bool, dry_run: bool, lang: str,
                   operator: str | None) -> None:
    """Sync from an HR export; a file with any bad row is refused as a whole (exit 1)."""
    with force_locale(lang):
        _import(csv_file, encoding.lower(), deactivate_missing, dry_run, _operator_person(operator))


def _operator_person(employee_no: str | None) -> Person | None:
    """The active person --operator names (exit 1 when there is none)."""
    if employee_no is None:
        return None
    person = db.session.scalar(select(Person).where(Person.employee_no == employee_no.strip()))
    if person is None or not person.active:
        click.echo(_("--operator %(number)s: there is no active person with this employee number.",
                     number=employee_no), err=True)
        sys.exit(1)
    return person


def _import(csv_file: Path, encoding: str, deactivate_missing: bool, dry_run: bool, actor: Person | None) -> None:
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
    if actor is not None and own_role_changes(plan, actor.employee_no):
        db.session.rollback()
        click.echo(_("%(file)s changes your own roles or managed departments: no one changes their own roles. "
                     "Ask another administrator to import it. Nothing was changed.", file=csv_file), err=True)
        sys.exit(1)
    if dry_run or plan.is_empty:
        db.session.rollback()
        click.echo(_("Dry run: nothing was written.") if dry_run else _("Nothing to change."))
        return
    try:
        apply_sync(actor, plan, csv_file.name, details={
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
    click.echo(_("%(file)s: refused, %(count)s problem(s); nothing was changed.", file=csv_file, count=len(errors)),
               err=True)
    sys.exit(1)
