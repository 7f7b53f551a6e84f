"""`portal audit verify` and `portal audit anchor`: check the trail, and anchor its head outside the database."""
from __future__ import annotations

import re

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.audit.chain import BAD_ANCHOR, check_anchor
from portal.audit.history import check_history, registered_tables
from portal.audit.queries import check_audit_trail, stored_hash
from portal.audit.services import AnchorRefused, anchor_trail
from portal.extensions import db

ANCHOR = re.compile(r"^(\d+):([0-9a-fA-F]{64})$")


def _events(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"


def _anchors_line(report) -> str:
    if not current_app.config.get("PORTAL_AUDIT_ANCHOR_DIR"):
        return "anchors: PORTAL_AUDIT_ANCHOR_DIR is not set, none checked"
    if report.newest_anchor is None:
        return "anchors: none written yet (run `portal audit anchor` daily)"
    newest = report.newest_anchor
    return (f"anchors: {report.anchors_checked} checked, the newest recorded event {newest.seq} "
            f"at {newest.anchored_at.isoformat(timespec='seconds')}")


def _broken(problem, verified: int | None) -> None:
    where = "in its anchor file" if problem.kind == BAD_ANCHOR else f"at event {problem.seq}"
    click.echo(f"audit trail BROKEN {where}: {problem.reason}", err=True)
    if verified is not None:
        click.echo(f"{_events(verified)} verified before it", err=True)
    raise SystemExit(1)


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@click.option("--anchor", metavar="SEQ:HASH",
              help="An event number and hash recorded earlier (e.g. from a previous run): "
                   "also fail if that event is gone or has another hash (trail cut off or rewritten).")
@click.option("--batch", default=2000, show_default=True, help="Events read per query.")
@with_appcontext
def audit_verify(anchor: str | None, batch: int) -> None:
    """Exit 0 when the chain holds and matches every anchor; 1 naming the first broken event or anchor."""
    parsed = ANCHOR.match(anchor.strip()) if anchor else None
    if anchor and parsed is None:
        raise click.BadParameter("expected SEQ:HASH (a number, a colon, 64 hex digits)", param_hint="--anchor")
    report = check_audit_trail(batch)
    if report.problem is not None:
        _broken(report.problem, report.verified)
    if parsed is not None:
        seq = int(parsed.group(1))
        problem = check_anchor(seq, parsed.group(2), stored_hash(seq))
        if problem is not None:
            _broken(problem, None)
    history_problems = check_history()
    for problem in history_problems[:50]:
        click.echo(f"history NOT RECONCILED: {problem.describe()}", err=True)
    if history_problems:
        click.echo(f"{len(history_problems)} history row(s) do not match the audit trail", err=True)
        raise SystemExit(1)
    click.echo(f"audit trail verified: {_events(report.verified)}, chain intact")
    click.echo(_anchors_line(report))
    click.echo(f"history reconciled with the audit trail: {', '.join(registered_tables()) or 'no tables'}")
    click.echo(f"last event {report.last_seq} hash {report.last_hash}")


@audit_group.command("anchor")
@click.option("--batch", default=2000, show_default=True, help="Events read per query.")
@with_appcontext
def audit_anchor(batch: int) -> None:
    """Verify the trail, then append its head, signed, to the anchor file and queue a mail to the auditors."""
    if not current_app.config.get("PORTAL_AUDIT_ANCHOR_DIR"):
        click.echo("PORTAL_AUDIT_ANCHOR_DIR is not set: nowhere to write the anchor", err=True)
        raise SystemExit(1)
    try:
        written = anchor_trail(batch=batch)
    except AnchorRefused as refused:
        db.session.rollback()
        if refused.report is None:
            click.echo(f"no anchor written: {refused}", err=True)
            raise SystemExit(1) from refused
        click.echo("no anchor written: the trail does not verify", err=True)
        _broken(refused.report.problem, refused.report.verified)
    except OSError as error:
        db.session.rollback()
        click.echo(f"no anchor written: {error}", err=True)
        raise SystemExit(1) from error
    db.session.commit()
    click.echo(f"anchor written to {written.path}: event {written.seq} hash {written.hash}")
    if written.mail is not None:
        click.echo(f"queued for {written.mail.to} (the queue's consumers send it)")
