"""`portal certificates export`: a ZIP of current certificates, written to a file as it is made."""
from __future__ import annotations

import getpass
import os
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.certificates.bulk import certificate_entries, zip_chunks
from portal.certificates.queries import current_certificate_count, department_by_code
from portal.certificates.services import record_bulk_export
from portal.extensions import db
from portal.training.status import jst_today


@click.group("certificates")
def certificates_group() -> None:
    """Training certificates (修了証)."""


@certificates_group.command("export")
@click.option("--department", "department_code", metavar="CODE", help="The department's HR code.")
@click.option("--all", "everyone", is_flag=True, help="Every department.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The ZIP file to write (written as FILE.part, renamed when complete).")
@click.option("--jobs", type=click.IntRange(1, 64), default=lambda: os.cpu_count() or 1, show_default="CPU count",
              help="Processes rendering certificates at once.")
@with_appcontext
def export_command(department_code: str | None, everyone: bool, out: Path, jobs: int) -> None:
    """Write the current certificates of a department's (or everyone's) active people into a ZIP."""
    if bool(department_code) == everyone:
        click.echo("Give either --department CODE or --all.", err=True)
        sys.exit(2)
    department_ids = None
    if department_code:
        department = department_by_code(department_code)
        if department is None:
            click.echo(f"No department has the code {department_code!r}.", err=True)
            sys.exit(1)
        department_ids = [department.id]
    scope = department_code or "all"
    record_bulk_export(None, scope, current_certificate_count(department_ids), f"cli:{getpass.getuser()}")
    db.session.commit()
    started, counter = time.perf_counter(), [0]
    partial = out.with_name(out.name + ".part")
    app = current_app._get_current_object()
    try:
        with open(partial, "wb") as handle:
            for chunk in zip_chunks(certificate_entries(app, department_ids, jst_today(), counter, jobs)):
                handle.write(chunk)
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    elapsed = time.perf_counter() - started
    click.echo(f"{counter[0]} certificates written to {out} ({out.stat().st_size / 1e6:.1f} MB) in {elapsed:.1f} s")
