"""Figures that cannot drift: append-only histories sealed into the audit chain, coverage by history, snapshots."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from portal.access.control_models import CoverageSnapshot
from portal.access.coverage import coverage_report
from portal.access.models import AccessEvent
from portal.access.services import revoke_grant
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.org.history import PersonDepartmentHistory
from tests.access_fixtures import START, grant_for, train
from tests.audit_fixtures import backend, verify_cli
from tests.cap_fixtures import hr_import

HISTORY_TABLES = ("access_events", "person_department_history", "access_coverage_snapshots")


def tamper_history(*statements: str) -> None:
    """Run SQL on the history tables as someone who can get past their triggers (a DBA)."""
    if backend() == "sqlite":
        for table in HISTORY_TABLES:
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
    else:
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()
    db.session.expire_all()


@pytest.fixture
def granted(clock, world):
    """E1 and E2 granted on day 0; E1's grant revoked on day 10."""
    for person in (world.employee, world.colleague):
        train(person, world)
    grants = [grant_for(world, person) for person in (world.employee, world.colleague)]
    clock.advance(days=10)
    revoke_grant(world.owner, grants[0], "担当業務の変更のため")
    db.session.commit()
    return grants


@pytest.mark.parametrize("table", HISTORY_TABLES)
def test_history_rows_cannot_be_changed_or_deleted_by_the_app(app, world, clock, granted, table):
    from portal.access.coverage_snapshots import take_coverage_snapshot

    take_coverage_snapshot(date(2026, 4, 1), clock.now)
    db.session.commit()
    assert db.session.scalar(text(f"SELECT count(*) FROM {table}")) > 0
    column = {"access_events": "reason", "person_department_history": "active",
              "access_coverage_snapshots": "in_force"}[table]
    value = {"access_events": "'edited'", "person_department_history": "false" if backend() != "sqlite" else "0",
             "access_coverage_snapshots": "99"}[table]
    for statement in (f"UPDATE {table} SET {column} = {value}", f"DELETE FROM {table}"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()


def test_verify_holds_after_ordinary_work(app, world, clock, granted, make_person):
    hr_import((world.colleague, world.back, None), (make_person("E9", department=world.front), None, False))
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "history reconciled" in result.output and "access_events" in result.output
    sealed = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.details_json.contains('"access_events"')))
    assert sealed >= 3


def test_a_deleted_revocation_is_reported_by_verify(app, world, clock, granted):
    revocation = db.session.scalars(select(AccessEvent.id).where(AccessEvent.kind == "revoked")).one()
    before = coverage_report(world.system, date(2026, 4, 20))
    tamper_history(f"DELETE FROM access_events WHERE id = {revocation}")
    after = coverage_report(world.system, date(2026, 4, 20))
    assert before[0].after.in_force == 1 and after[0].after.in_force == 2  # the figure moved...
    result = verify_cli(app)
    assert result.exit_code == 1  # ...and verify says so
    assert f"access_events row {revocation}" in result.output and "missing" in result.output


def test_an_edited_event_and_a_row_added_outside_the_portal_are_reported(app, world, clock, granted):
    granted_event = db.session.scalars(select(AccessEvent).where(AccessEvent.kind == "granted")).first()
    db.session.expunge(granted_event)
    tamper_history(
        f"UPDATE access_events SET occurred_at = occurred_at, reason = 'backdated' WHERE id = {granted_event.id}",
        "INSERT INTO access_events (request_id, grant_id, kind, state_after, occurred_at, recorded_at, reason, "
        f"details_json, department_id) SELECT request_id, grant_id, 'resumed', 'in_force', occurred_at, recorded_at, "
        f"'', '{{}}', department_id FROM access_events WHERE id = {granted_event.id}")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"access_events row(s) {granted_event.id}" in result.output and "edited" in result.output
    assert "added outside the portal" in result.output


def test_a_deleted_move_in_the_people_history_is_reported(app, world, clock, granted):
    clock.advance(days=1)
    hr_import((world.colleague, world.back, None))
    move = db.session.scalars(select(PersonDepartmentHistory).where(
        PersonDepartmentHistory.person_id == world.colleague.id).order_by(PersonDepartmentHistory.id.desc())).first()
    assert move.department_id == world.back.id
    rows = db.session.scalars(select(PersonDepartmentHistory.department_id).where(
        PersonDepartmentHistory.person_id == world.colleague.id).order_by(PersonDepartmentHistory.id)).all()
    assert rows == [world.front.id, world.back.id]  # created, then moved once by the import (no double row)
    db.session.expunge(move)
    assert verify_cli(app).exit_code == 0
    tamper_history(f"DELETE FROM person_department_history WHERE id = {move.id}")
    result = verify_cli(app)
    assert result.exit_code == 1 and f"person_department_history row {move.id}" in result.output


def test_past_coverage_counts_people_where_they_were_and_an_hr_import_changes_nothing(clock, world, granted,
                                                                                     make_person):
    """E2 holds a grant in customer front; moving E2 and others afterwards leaves past days as they were."""
    def front_on(day):
        rows = coverage_report(world.system, day)
        return next(r for r in rows if r.code == "CUST-FRONT")

    clock.advance(days=1)
    extra = make_person("E7", department=world.front)
    day = (clock.now + timedelta(days=1)).date()
    clock.advance(days=2)
    before = front_on(day)
    assert (before.after.in_force, before.after.headcount) == (1, 4)  # manager, E1, E2, E7
    hr_import((world.colleague, world.back, None), (extra, None, False), (world.employee, world.back, None))
    after = front_on(day)
    assert (after.after.in_force, after.after.headcount) == (1, 4)
    today = front_on(clock.now.date() + timedelta(days=1))
    assert today.after.headcount == 1 and today.after.in_force == 0
    back = next(r for r in coverage_report(world.system, clock.now.date() + timedelta(days=1)) if r.code == "BACKYARD")
    # E2 moved: the grant is suspended until the new manager approves, and counted where E2 is now.
    assert (back.after.in_force, back.after.suspended) == (0, 1)


def test_the_coverage_page_shows_suspended_holders_apart(client, login, world, clock, granted, make_person):
    from tests.cap_fixtures import hr_import as move

    clock.advance(days=1)
    move((world.colleague, None, False))  # a leaver: the grant is suspended, not in force
    login(world.auditor)
    page = client.get("/access/coverage", query_string={"system": "customer-info"}).get_data(as_text=True)
    assert "停止中: 1人" in page


def test_the_daily_snapshot_is_kept_once(app, world, clock, granted):
    runner = app.test_cli_runner()
    clock.set(START + timedelta(days=12))
    first = runner.invoke(args=["access", "snapshot"])
    assert first.exit_code == 0, first.output
    kept = db.session.scalars(select(CoverageSnapshot)).all()
    assert {(r.day, r.in_force) for r in kept} == {(date(2026, 4, 12), 1)}
    again = runner.invoke(args=["access", "snapshot"])
    assert again.exit_code == 0 and "0 department rows" in again.output
    past = runner.invoke(args=["access", "snapshot", "--day", "2026-04-05"])
    assert past.exit_code == 0
    assert db.session.scalar(select(CoverageSnapshot.in_force).where(CoverageSnapshot.day == date(2026, 4, 5))) == 2
    future = runner.invoke(args=["access", "snapshot", "--day", "2026-04-13"])
    assert future.exit_code == 1 and "has not ended" in future.output
    assert verify_cli(app).exit_code == 0


def test_the_verify_page_names_a_deleted_history_row(app, client, login, world, clock, granted):
    revocation = db.session.scalars(select(AccessEvent.id).where(AccessEvent.kind == "revoked")).one()
    login(world.auditor)
    assert "履歴テーブルは監査ログと一致しています" in client.get("/audit/verify").get_data(as_text=True)
    tamper_history(f"DELETE FROM access_events WHERE id = {revocation}")
    page = client.get("/audit/verify").get_data(as_text=True)
    assert f"access_events の {revocation} 行" in page and "（削除）" in page
