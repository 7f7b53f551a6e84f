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
    from portal.access.cli import access_group, systems_group  # access
    from portal.audit.cli import audit_group
    from portal.auth.cli import accounts_group  # local accounts
    from portal.backups.cli import backup_command, restore_command
    from portal.certificates.cli import certificates_group  # certificates
    from portal.dashboards.cli import dashboards_group  # dashboards
    from portal.demo.cli import demo_command
    from portal.instructions.cli import instructions_group  # corrective instructions
    from portal.jobs.cli import jobs_group, worker_command  # the queue's consumers and jobs
    from portal.manuals.cli import publish_command
    from portal.org.cli import org_group
    from portal.reminders.cli import reminders_group  # reminders
    from portal.training.cli import training_group  # training statuses

    app.cli.add_command(init_command)
    app.cli.add_command(audit_group)
    app.cli.add_command(translations_group)
    app.cli.add_command(org_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(instructions_group)  # corrective instructions
    app.cli.add_command(publish_command)
    app.cli.add_command(systems_group)  # access
    app.cli.add_command(access_group)  # access
    app.cli.add_command(certificates_group)  # certificates
    app.cli.add_command(dashboards_group)  # dashboards
    app.cli.add_command(reminders_group)  # reminders
    app.cli.add_command(training_group)  # training statuses
    app.cli.add_command(accounts_group)  # local accounts
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(worker_command)  # the queue's consumers and jobs
    app.cli.add_command(jobs_group)
