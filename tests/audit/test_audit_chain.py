"""The hash chain: verification catches edits, deletions and reordering; appends never fork it."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from portal.audit.chain import (
    EDITED,
    GENESIS_HASH,
    LINK,
    MISSING,
    check_anchor,
    check_chain,
    event_hash,
    plain_hash,
)
from portal.audit.models import AuditEvent
from portal.audit.queries import check_audit_trail
from portal.audit.services import record_event
from portal.extensions import db
from tests.audit_fixtures import add_events, backend, swap_contents, tamper, verify_cli

# --- pure chain functions (no app, no database) ---------------------------------------------

def _chain(count: int) -> list[tuple[int, dict, str]]:
    events, previous = [], GENESIS_HASH
    for seq in range(1, count + 1):
        fields = {"seq": seq, "occurred_at": datetime(2026, 4, 1, 0, 0, seq, tzinfo=timezone.utc),
                  "actor_id": None, "actor_label": "", "action": "t", "object_type": "", "object_id": "",
                  "reason": f"r{seq}", "details": {}, "source": "cli", "prev_hash": previous}
        previous = event_hash(fields)
        events.append((seq, fields, previous))
    return events


def test_an_untouched_chain_holds_and_reports_its_head():
    events = _chain(5)
    report = check_chain(events)
    assert report.intact and report.verified == 5 and report.last_seq == 5 and report.last_hash == events[-1][2]
    assert check_chain([]).intact and check_chain([]).last_hash == GENESIS_HASH


def test_an_edited_event_is_named():
    events = _chain(5)
    events[2][1]["reason"] = "quietly changed"
    report = check_chain(events)
    assert (report.problem.seq, report.problem.kind, report.verified) == (3, EDITED, 2)


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link():
    events = _chain(5)
    seq, fields, _ = events[2]
    fields["reason"] = "changed and rehashed"
    events[2] = (seq, fields, event_hash(fields))
    assert (check_chain(events).problem.seq, check_chain(events).problem.kind) == (4, LINK)


def test_a_deleted_event_is_named_as_the_gap():
    events = _chain(5)
    del events[1]
    problem = check_chain(events).problem
    assert (problem.seq, problem.kind) == (2, MISSING)
    assert (check_chain(_chain(3)[1:]).problem.seq) == 1


def test_reordered_events_are_caught():
    events = _chain(5)
    events[1], events[2] = (2, events[2][1] | {"seq": 2}, events[2][2]), (3, events[1][1] | {"seq": 3}, events[1][2])
    assert check_chain(events).problem.seq == 2


def test_an_anchor_catches_a_cut_off_or_rewritten_tail():
    assert check_anchor(7, "ab" * 32, "ab" * 32) is None
    assert check_anchor(7, "AB" * 32, "ab" * 32) is None
    assert check_anchor(7, "ab" * 32, None).kind == MISSING
    assert check_anchor(7, "ab" * 32, "cd" * 32).kind == EDITED


# --- the stored chain, on SQLite and PostgreSQL ----------------------------------------------

def test_verify_passes_on_a_fresh_chain(app, make_person):
    add_events(3, make_person("E1"))
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "3 events" in result.output and "chain intact" in result.output


def test_verify_passes_on_an_empty_trail(app):
    result = verify_cli(app)
    assert result.exit_code == 0 and "0 events" in result.output


def test_editing_one_row_fails_verify_naming_it(app, make_person):
    add_events(5, make_person("E1"))
    tamper("UPDATE audit_events SET reason = 'nothing happened' WHERE seq = 3")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert "BROKEN at event 3" in result.output and "2 events verified" in result.output


def test_the_portal_command_names_the_edited_row(app, database_url, make_person):
    add_events(4, make_person("E1"))
    tamper("UPDATE audit_events SET object_id = 'someone-else' WHERE seq = 2")
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "t"}
    portal = Path(sys.executable).with_name("portal")
    result = subprocess.run([str(portal), "audit", "verify"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN at event 2" in result.stderr and "1 event verified before it" in result.stderr


def test_editing_a_row_and_its_hash_is_still_caught(app, make_person):
    """Without the audit key a DBA can only recompute a plain SHA-256: the keyed hash gives the row away."""
    add_events(5, make_person("E1"))
    event = db.session.get(AuditEvent, 3)
    fields = event.chain_fields() | {"reason": "rewritten"}
    tamper("UPDATE audit_events SET reason = 'rewritten', hash = :h WHERE seq = 3", h=plain_hash(fields))
    result = verify_cli(app)
    assert result.exit_code == 1 and "BROKEN at event 3" in result.output


def test_deleting_a_row_in_the_middle_names_the_gap(app, make_person):
    add_events(6, make_person("E1"))
    tamper("DELETE FROM audit_events WHERE seq = 4")
    result = verify_cli(app)
    assert result.exit_code == 1 and "BROKEN at event 4" in result.output and "missing" in result.output


def test_swapping_two_rows_is_caught(app, make_person):
    add_events(6, make_person("E1"))
    swap_contents(2, 3)
    result = verify_cli(app)
    assert result.exit_code == 1 and "BROKEN at event 2" in result.output


def test_cutting_off_the_tail_is_caught_with_an_anchor(app, make_person):
    add_events(4, make_person("E1"))
    head = check_audit_trail()
    tamper("DELETE FROM audit_events WHERE seq = 4")
    assert verify_cli(app).exit_code == 0  # the chain alone cannot see it
    result = verify_cli(app, "--anchor", f"{head.last_seq}:{head.last_hash}")
    assert result.exit_code == 1 and "BROKEN at event 4" in result.output
    assert verify_cli(app, "--anchor", "3:zz").exit_code == 2


def test_appending_after_many_events_keeps_the_chain_across_batches(app, make_person):
    person = make_person("E1")
    add_events(300, person)
    record_event(person, "test.late", reason="one more")
    db.session.commit()
    result = verify_cli(app, "--batch", "64")
    assert result.exit_code == 0 and "301 events" in result.output
    assert db.session.scalar(select(func.max(AuditEvent.seq))) == 301


def test_cr_lf_and_nul_in_a_reason_are_kept_and_verify(app, make_person):
    reason = "line one\r\nforged,line,\"two\"\rthree\n\x00end"
    event = record_event(make_person("E1"), "test.crlf", reason=reason, details={"note": "a\r\nb"})
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(AuditEvent, event.seq)
    assert stored.reason == reason.replace("\x00", "\ufffd") and stored.details == {"note": "a\r\nb"}
    assert verify_cli(app).exit_code == 0


def test_an_overlong_field_is_refused_on_every_backend(app):
    with pytest.raises(ValueError, match="action"):
        record_event(None, "x" * 61)
    db.session.rollback()


def test_the_app_cannot_truncate_the_trail(app, make_person):
    add_events(2, make_person("E1"))
    statement = "TRUNCATE audit_events" if backend() == "postgresql" else "DELETE FROM audit_events"
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 2


def _append_from_threads(app, threads: int, per_thread: int) -> tuple[int, list[str]]:
    """Each thread has its own app context and session, committing one event at a time."""
    ok, errors, lock = [0], [], threading.Lock()
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        with app.app_context():
            start.wait()
            for i in range(per_thread):
                try:
                    record_event(None, "test.concurrent", reason=f"thread {n} event {i}")
                    db.session.commit()
                    with lock:
                        ok[0] += 1
                except Exception as error:  # noqa: BLE001 - a clean failure is allowed on SQLite
                    db.session.rollback()
                    with lock:
                        errors.append(type(error).__name__)
            db.session.remove()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return ok[0], errors


def test_concurrent_appends_never_fork_the_chain(app):
    appended, errors = _append_from_threads(app, threads=8, per_thread=15)
    db.session.expire_all()
    seqs = list(db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    assert seqs == list(range(1, appended + 1))  # gap-free
    assert check_audit_trail().intact
    if backend() == "postgresql":
        assert (appended, errors) == (120, [])  # the advisory lock queues every appender
    else:
        assert appended + len(errors) == 120
        assert set(errors) <= {"OperationalError", "IntegrityError"}
