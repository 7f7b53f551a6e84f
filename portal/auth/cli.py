"""`portal accounts …`: the very first admin, and break-glass passwords.

Passwords are only ever typed at a hidden prompt, twice; never taken from the command line or
the environment (both end up in shell histories, process lists and logs).
"""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.auth.admin_accounts import (
    AccountRefused,
    NewPerson,
    admins_who_can_sign_in,
    create_first_admin,
    set_password_from_cli,
)
from portal.auth.password_rules import MESSAGES, Holder, holder_of, password_problems
from portal.auth.services import PasswordPolicyError
from portal.extensions import db
from portal.org.models import Person

#: Wrong or weak passwords typed before the command gives up.
PROMPT_TRIES = 3
_REFUSALS = {
    "admin_exists": "an administrator who can sign in already exists ({admins}); use `portal accounts set-password`, "
                    "the people page, or --force to add another admin from here",
    "unknown_person": "no person has employee number {employee_no}; import them from HR first, or pass --name and "
                      "--department to create them",
    "inactive": "{employee_no} is not active",
}


def _prompt_password(holder: Holder) -> str:
    """Ask twice at a hidden prompt until the password keeps the rules; exit 1 after PROMPT_TRIES."""
    for _attempt in range(PROMPT_TRIES):
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Password again")
        problems = password_problems(password, holder)
        if not problems:
            return password
        for code in problems:
            click.echo(f"  {MESSAGES[code]}", err=True)
    click.echo("no password was set", err=True)
    sys.exit(1)


def _person(employee_no: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.employee_no == employee_no))


def _refuse(code: str, **words) -> None:
    db.session.rollback()
    click.echo("refused: " + _REFUSALS[code].format(**words), err=True)
    sys.exit(1)


@click.group("accounts")
def accounts_group() -> None:
    """Local accounts: the first admin, break-glass passwords."""


@accounts_group.command("create-admin")
@click.argument("employee_no")
@click.option("--name", default="", help="Full name, when the person is not in the HR data yet.")
@click.option("--department", "department_code", default="", help="Department code, with --name (created if new).")
@click.option("--department-name", default="", help="Name of a department created by --department.")
@click.option("--email", default="", help="E-mail address of a person created with --name.")
@click.option("--force", is_flag=True, help="Also when an admin who can sign in exists already (break-glass).")
@with_appcontext
def create_admin_command(employee_no: str, name: str, department_code: str, department_name: str, email: str,
                         force: bool) -> None:
    """Make EMPLOYEE_NO an admin with a password (the very first admin of a new portal)."""
    employee_no = employee_no.strip()
    existing = admins_who_can_sign_in()
    if existing and not force:
        _refuse("admin_exists", admins=", ".join(existing))
    if bool(name) != bool(department_code):
        click.echo("refused: --name and --department go together", err=True)
        sys.exit(1)
    new = NewPerson(name=name, department_code=department_code, department_name=department_name,
                    email=email) if name else None
    person = _person(employee_no)
    if person is None and new is None:
        _refuse("unknown_person", employee_no=employee_no)
    if person is not None and not person.active:
        _refuse("inactive", employee_no=employee_no)
    holder = holder_of(person) if person is not None else Holder(employee_no=employee_no, name=name, email=email)
    password = _prompt_password(holder)
    try:
        person = create_first_admin(employee_no, password, new, force=force)
    except AccountRefused as refusal:
        _refuse(str(refusal), employee_no=employee_no, admins=", ".join(existing))
    except PasswordPolicyError as error:  # the rules were checked at the prompt; kept for safety
        db.session.rollback()
        click.echo(" ".join(str(MESSAGES[c]) for c in error.problems), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"{person.employee_no} is an administrator and can sign in; the second factor is set up at the first "
               "sign-in")


@accounts_group.command("set-password")
@click.argument("employee_no")
@click.option("--reset-second-factor", is_flag=True,
              help="Also remove their authenticator (lost phone, no codes left).")
@with_appcontext
def set_password_command(employee_no: str, reset_second_factor: bool) -> None:
    """Break-glass: set EMPLOYEE_NO's password (their sessions and open links end)."""
    employee_no = employee_no.strip()
    person = _person(employee_no)
    if person is None:
        _refuse("unknown_person", employee_no=employee_no)
    if not person.active:
        _refuse("inactive", employee_no=employee_no)
    password = _prompt_password(holder_of(person))
    try:
        set_password_from_cli(employee_no, password, reset_two_factor=reset_second_factor)
    except AccountRefused as refusal:
        _refuse(str(refusal), employee_no=employee_no)
    db.session.commit()
    click.echo(f"the password of {employee_no} was set" + (" and their second factor removed" if reset_second_factor
                                                            else ""))
