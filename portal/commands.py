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


def register_commands(app: Flask) -> None:
    """Attach every command group to the app's CLI."""
    from portal.demo.cli import demo_command
    from portal.org.cli import org_group

    app.cli.add_command(init_command)
    app.cli.add_command(audit_group)
    app.cli.add_command(org_group)
    app.cli.add_command(demo_command)
