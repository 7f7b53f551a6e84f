"""SECURITY.md row 30 for the HR import: no one changes their own roles or managed departments
by importing a file (web or CLI); another administrator must apply it."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.org.hr_csv import parse_hr_csv
from portal.org.services import plan_sync
from portal.org.sync_plan import SetChange, SyncPlan, own_role_changes
from tests.conftest import csrf_token_from, https_client, sign_in
from tests.org_fixtures import audit_count, hr_file, person, row, run_import, upload, write

ADMIN = "S6001"
#: The file keeps the admin in D1 but takes their admin role away and makes them a manager of D1.
DEMOTES_ME = hr_file(
    row("E1001", department="D1", department_name="D1部"),
    row(ADMIN, "渡辺 聡", "わたなべ さとし", department="D1", department_name="D1部", roles="manager", manages="D1"),
)
LEAVES_ME_ALONE = hr_file(
    row("E1001", department="D1", department_name="D1部"),
    row(ADMIN, "渡辺 聡", "わたなべ さとし", department="D1", department_name="D1部", roles="admin"),
)


def test_own_role_changes_picks_the_person_out_of_a_plan():
    mine = SetChange(ADMIN, "渡辺 聡", ("admin",), ("manager",))
    plan = SyncPlan(role_changes=[SetChange("E1", "x", (), ("auditor",)), mine],
                    manages_changes=[SetChange(ADMIN, "渡辺 聡", (), ("D1",))])
    assert own_role_changes(plan, ADMIN) == [mine, plan.manages_changes[0]]
    assert own_role_changes(plan, "E2") == [] and own_role_changes(plan, None) == []


@pytest.fixture
def admin(make_person, login):
    """A signed-in administrator in D1."""
    me = make_person(ADMIN, roles=("admin",), name="渡辺 聡", name_kana="わたなべ さとし")
    login(me)
    return me


def _apply_form(html: str) -> dict:
    return dict(re.findall(r'name="(csrf_token|token|digest)" type="hidden" value="([^"]*)"', html))


def test_the_preview_refuses_a_file_that_changes_my_roles(app, client, admin):
    upload(client, DEMOTES_ME.encode("utf-8"))
    page = client.get("/org/import/preview")
    html = page.get_data(as_text=True)
    assert "自分のロール" in html and "別の管理者" in html
    assert "渡辺 聡（S6001）" in html and 'action="/org/import/apply"' not in html


def test_applying_it_anyway_is_refused_by_the_service_and_changes_nothing(app, client, admin):
    """A hand-made apply request (token and digest of the pending plan) gets the same refusal."""
    upload(client, DEMOTES_ME.encode("utf-8"))
    rows, _ = parse_hr_csv(DEMOTES_ME, frozenset())
    digest = plan_sync(rows).digest()
    db.session.rollback()
    with client.session_transaction() as session:
        token = session["org_import_token"]
    response = client.post("/org/import/apply", data={
        "csrf_token": csrf_token_from(client, "/org/import"), "token": token, "digest": digest})
    assert response.status_code == 403
    assert "自分のロール" in response.get_data(as_text=True)
    assert person(ADMIN).roles == {"employee", "admin"} and not person(ADMIN).managed_departments
    assert person("E1001") is None
    assert audit_count("org.imported") == 0 and audit_count("org.roles_changed") == 0


def test_another_admin_can_apply_the_same_file(app, admin, make_person):
    other = https_client(app)
    assert sign_in(other, make_person("S2", roles=("admin",))).status_code == 302
    upload(other, DEMOTES_ME.encode("utf-8"))
    html = other.get("/org/import/preview").get_data(as_text=True)
    assert "自分のロール" not in html
    assert other.post("/org/import/apply", data=_apply_form(html)).status_code == 302
    assert person(ADMIN).roles == {"employee", "manager"}


def test_the_cli_refuses_it_for_the_operator_and_applies_it_for_a_scheduled_job(app, make_person, tmp_path):
    make_person(ADMIN, roles=("admin",), name="渡辺 聡", name_kana="わたなべ さとし")
    path = write(tmp_path, DEMOTES_ME)
    refused = run_import(app, path, "--operator", ADMIN)
    assert refused.exit_code == 1 and "自分のロール" in refused.output
    assert person(ADMIN).roles == {"employee", "admin"} and audit_count("org.imported") == 0
    unknown = run_import(app, path, "--operator", "NOBODY")
    assert unknown.exit_code == 1 and "NOBODY" in unknown.output
    other = make_person("S2", roles=("admin",))
    applied = run_import(app, path, "--operator", "S2")
    assert applied.exit_code == 0, applied.output
    assert person(ADMIN).roles == {"employee", "manager"}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "org.imported")).one()
    assert event.actor_id == other.id
