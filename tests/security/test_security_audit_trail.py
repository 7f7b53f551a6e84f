"""SECURITY.md row 25: the app's own database role cannot UPDATE, DELETE or TRUNCATE audit rows;
a reason with CR/LF is kept as it was typed, the chain still verifies, and exports forge no lines.
(Row 31, a DBA who gets past the triggers, is tests/audit/test_audit_anchors.py.)"""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select, text

from portal.audit.models import AuditEvent
from portal.audit.services import record_event
from portal.extensions import db
from tests.audit_fixtures import add_events, backend, verify_cli

FORGED = "line one\r\n2,2026-01-01,forged,row\rthree\nfour"


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET reason = 'edited' WHERE seq = 1",
    "UPDATE audit_events SET hash_scheme = 1, key_id = ''",
    "DELETE FROM audit_events WHERE seq = 2",
    "TRUNCATE audit_events",
])
def test_the_app_role_cannot_change_or_remove_audit_rows(app, make_person, statement):
    add_events(2, make_person("E1"))
    if statement.startswith("TRUNCATE") and backend() == "sqlite":
        statement = "DELETE FROM audit_events"
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 2
    assert db.session.scalar(select(AuditEvent.reason).where(AuditEvent.seq == 1)) == "event 0"
    assert verify_cli(app).exit_code == 0


def test_cr_lf_in_a_reason_verifies_and_forges_no_csv_line(app, client, make_person, login):
    auditor = make_person("A1", roles=("auditor",))
    record_event(auditor, "test.crlf", reason=FORGED)
    db.session.commit()
    assert verify_cli(app).exit_code == 0
    login(auditor)
    exported = client.get("/audit/export.csv", query_string={"action": "test.crlf"})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    data = [r for r in rows[1:] if r]
    assert len(data) == 1 and data[0][9] == FORGED  # one row; the reason survives whole, in one cell
