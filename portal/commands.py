"""CLI commands registered on the app (so `portal …` and `flask --app portal …` agree)."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the database or upgrade it to the latest migration."""
    from flask_migrate import upgrade

    upgrade()
    click.echo("database is up to date")


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Exit 0 when the hash chain holds; 1 naming the first broken event."""
    from portal.audit.queries import verify_audit_trail

    problem = verify_audit_trail()
    if problem is None:
        click.echo("audit trail verified: chain intact")
        return
    click.echo(f"audit trail BROKEN at event {problem.seq}: {problem.reason}", err=True)
    sys.exit(1)


@click.group("translations")
def translations_group() -> None:
    """The Japanese and English message catalogues."""


@translations_group.command("update")
def translations_update() -> None:
    """Extract strings, merge them into ja and en, compile."""
    from portal.core.catalogues import update_catalogues

    for locale, count in update_catalogues().items():
        click.echo(f"{locale}: {count} messages")


@translations_group.command("add")
@click.argument("json_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--locale", default="ja", show_default=True)
def translations_add(json_file: str, locale: str) -> None:
    """Add or set translations from a JSON object {msgid: translation} (safe to run concurrently)."""
    import json

    from portal.core.catalogues import add_translations

    with open(json_file, encoding="utf-8") as handle:
        count = add_translations(locale, json.load(handle))
    click.echo(f"{locale}: {count} translations set")


@translations_group.command("check")
def translations_check() -> None:
    """Exit 1 listing every string the Japanese catalogue lacks."""
    from portal.core.catalogues import missing_translations

    missing = missing_translations("ja")
    for msgid in missing:
        click.echo(f"untranslated (ja): {msgid!r}", err=True)
    sys.exit(1 if missing else 0)


def register_commands(app: Flask) -> None:
    """Attach every command group to the app's CLI."""
    from portal.demo.cli import demo_command
    from portal.org.cli import org_group

    app.cli.add_command(init_command)
    app.cli.add_command(audit_group)
    app.cli.add_command(translations_group)
    app.cli.add_command(org_group)
    app.cli.add_command(demo_command)
