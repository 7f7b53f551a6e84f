"""`portal demo`: load a demo organisation into an empty database."""
from __future__ import annotations

import sys
import time

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select, update

from portal.auth.passwords import hash_password
from portal.core.timeutil import utcnow
from portal.dashboards.services import refresh_completion
from portal.demo.access import load_demo_access
from portal.demo.instructions import load_demo_instructions
from portal.demo.lookups import load_demo_lookups
from portal.demo.manuals import publish_demo_manuals
from portal.demo.organisation import DEMO_ACCOUNTS, DEMO_DEPARTMENTS, DEMO_PASSWORD, demo_rows, large_rows
from portal.demo.training import load_demo_training
from portal.extensions import db
from portal.org.models import Department, Person
from portal.org.services import apply_sync, plan_sync
from portal.training.status import jst_today


@click.command("demo")
@click.option("--people", type=int, default=0, help="Build a large organisation of this many people (benchmarks).")
@click.option("--departments", type=int, default=200, show_default=True, help="Departments for --people.")
@click.option("--if-empty", is_flag=True, help="Do nothing (exit 0) when the database already has people.")
@with_appcontext
def demo_command(people: int, departments: int, if_empty: bool) -> None:
    """Load the demo organisation and one sign-in per role into an empty database."""
    if db.session.scalar(select(func.count(Person.id))):
        if if_empty:
            click.echo("database already has people: demo not loaded")
            return
        click.echo("the database is not empty: demo data goes only into an empty database", err=True)
        sys.exit(1)
    started = time.perf_counter()
    rows = large_rows(people, departments) if people else demo_rows()
    load_demo(rows)
    db.session.commit()
    click.echo(f"demo loaded: {len(rows)} people in {time.perf_counter() - started:.1f}s")
    if not people:
        click.echo(f"demo sign-ins (password {DEMO_PASSWORD}): " + ", ".join(a[0] for a in DEMO_ACCOUNTS))


def load_demo(rows) -> None:
    """Import rows through the normal HR sync, then set English names and demo passwords."""
    apply_sync(None, plan_sync(rows), "demo")
    for code, _name_ja, name_en, _kind in DEMO_DEPARTMENTS:
        db.session.execute(update(Department).where(Department.code == code).values(name_en=name_en))
    demo_hash = hash_password(DEMO_PASSWORD)
    demo_numbers = [account[0] for account in DEMO_ACCOUNTS]
    db.session.execute(update(Person).where(Person.employee_no.in_(demo_numbers)).values(password_hash=demo_hash))
    publish_demo_manuals()  # manuals: after the organisation, so audiences resolve
    load_demo_training()  # training: after the manuals, demo people in every status
    load_demo_instructions()  # corrective instructions: M2001 to CUST-FRONT and AGENCY-TOHOKU
    load_demo_access()  # access: after training, so lapsed training suspends and refuses grants
    load_demo_lookups()  # look-up requests: after access, so grant holders can handle them
    refresh_completion(jst_today(), utcnow())  # dashboards: today's heat map and first trend point
