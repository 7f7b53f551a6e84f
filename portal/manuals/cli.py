"""`portal publish`: publish the repository's manuals and quizzes (or, with --check, only show the plan)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.manuals.assignments import today_jst
from portal.manuals.planning import PublishPlan, build_publish_plan, repository_dirs
from portal.manuals.problems import PublishRefused, describe
from portal.manuals.services import publish_from_repository


def echo_plan(plan: PublishPlan) -> None:
    """The plan as lines a person can read in a terminal or a CI log."""
    for entry in plan.changes:
        editions = ", ".join(f"edition {e.number} ({e.change_kind}, {e.file})" for e in entry.new_editions)
        new = " [new manual]" if entry.is_new_manual else ""
        quiz = "new quiz version" if entry.quiz_is_new else "quiz unchanged"
        click.echo(f"{entry.slug}{new}: {editions}; {quiz}; audience {entry.counts.get('audience', 0)}, "
                   f"back to training {entry.retrain_count}, newly assigned {entry.counts.get('added', 0)}, "
                   f"no longer assigned {entry.counts.get('removed', 0)}")
    for entry in plan.unchanged:
        click.echo(f"{entry.slug}: unchanged (edition {entry.current.number})")


def _refuse(problems) -> None:
    for problem in problems:
        click.echo(describe(problem), err=True)
    click.echo(f"refused: {len(problems)} problem(s); nothing was published", err=True)
    sys.exit(1)


@click.command("publish")
@click.option("--manuals", "manuals_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of manual files (default: the repository's manuals/).")
@click.option("--quizzes", "quizzes_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of quiz files (default: the repository's quizzes/).")
@click.option("--check", is_flag=True, help="Check everything and print the plan; write nothing.")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True,
              help="Language of the messages.")
@with_appcontext
def publish_command(manuals_dir: Path | None, quizzes_dir: Path | None, check: bool, lang: str) -> None:
    """Publish new manual editions and quizzes in one transaction (all or nothing)."""
    with force_locale(lang):
        _publish(manuals_dir, quizzes_dir, check)


def _publish(manuals_dir: Path | None, quizzes_dir: Path | None, check: bool) -> None:
    default_manuals, default_quizzes = repository_dirs()
    manuals_dir, quizzes_dir = manuals_dir or default_manuals, quizzes_dir or default_quizzes
    if check:
        plan = build_publish_plan(manuals_dir, quizzes_dir)
        db.session.rollback()
        if plan.problems:
            _refuse(plan.problems)
        echo_plan(plan)
        click.echo("check only: nothing written" if plan.changes else "nothing to publish")
        return
    try:
        plan, editions = publish_from_repository(None, manuals_dir, quizzes_dir, today_jst())
        db.session.flush()
    except PublishRefused as refused:
        db.session.rollback()
        _refuse(refused.problems)
    echo_plan(plan)
    try:
        db.session.commit()
    except IntegrityError:  # another publish of the same edition won the race
        db.session.rollback()
        click.echo("refused: someone else published at the same time; nothing was published", err=True)
        sys.exit(1)
    click.echo(f"published {len(editions)} edition(s)" if editions else "nothing to publish: all manuals up to date")
