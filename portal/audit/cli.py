"""`portal audit verify`: check the hash chain from a terminal or a cron job."""
from __future__ import annotations

import re

import click
from flask.cli import with_appcontext

ANCHOR = re.compile(r"^(\d+):([0-9a-fA-F]{64})$")


def _events(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"


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
    """Exit 0 when the hash chain holds; 1 naming the first broken event."""
    from portal.audit.chain import check_anchor
    from portal.audit.history import check_history, registered_tables
    from portal.audit.queries import check_audit_trail, stored_hash

    parsed = ANCHOR.match(anchor.strip()) if anchor else None
    if anchor and parsed is None:
        raise click.BadParameter("expected SEQ:HASH (a number, a colon, 64 hex digits)", param_hint="--anchor")
    report = check_audit_trail(batch)
    if report.problem is not None:
        click.echo(f"audit trail BROKEN at event {report.problem.seq}: {report.problem.reason}", err=True)
        click.echo(f"{_events(report.verified)} verified before it", err=True)
        raise SystemExit(1)
    if parsed is not None:
        seq = int(parsed.group(1))
        problem = check_anchor(seq, parsed.group(2), stored_hash(seq))
        if problem is not None:
            click.echo(f"audit trail BROKEN at event {problem.seq}: {problem.reason}", err=True)
            raise SystemExit(1)
    history_problems = check_history()
    for problem in history_problems[:50]:
        click.echo(f"history NOT RECONCILED: {problem.describe()}", err=True)
    if history_problems:
        click.echo(f"{len(history_problems)} history row(s) do not match the audit trail", err=True)
        raise SystemExit(1)
    click.echo(f"audit trail verified: {_events(report.verified)}, chain intact")
    click.echo(f"history reconciled with the audit trail: {', '.join(registered_tables()) or 'no tables'}")
    click.echo(f"last event {report.last_seq} hash {report.last_hash}")
