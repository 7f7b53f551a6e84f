"""`portal instructions verify`: confirm that no issued instruction was changed."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from portal.extensions import db
from portal.instructions.models import Instruction
from portal.instructions.verify import content_problems


@click.group("instructions")
def instructions_group() -> None:
    """Corrective instructions (是正指示)."""


@instructions_group.command("verify")
@with_appcontext
def verify_command() -> None:
    """Exit 0 when every instruction and attachment matches its hash; 1 naming each that does not."""
    from sqlalchemy import func, select


    problems = list(content_problems())
    for problem in problems:
        click.echo(f"instruction {problem.instruction_id}: {problem.reason}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{db.session.scalar(select(func.count()).select_from(Instruction))} instructions verified: "
               "content matches the hashes taken at issue")
