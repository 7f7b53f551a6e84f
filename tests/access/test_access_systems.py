"""Admins register systems and manage tokens; grant owners set caps."""
from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from portal.access.models import ApiToken, DepartmentCap, ProtectedSystem
from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.conftest import csrf_token_from


def _form(**overrides):
    data = {"code": "billing", "name_ja": "料金システム", "name_en": "Billing", "purposes": "請求内容の確認\n返金対応",
            "manuals": ["partner-data"], "grant_owners": "G1 G2", "max_grant_days": "90", "request_expiry_days": "7"}
    data.update(overrides)
    return data


def test_admin_registers_a_system(client, login, world, clock):
    login(world.admin)
    token = csrf_token_from(client, "/access/systems/new")
    response = client.post("/access/systems/new", data={"csrf_token": token, **_form()})
    assert response.status_code == 302
    system = db.session.scalar(select(ProtectedSystem).where(ProtectedSystem.code == "billing"))
    assert system.purposes == ["請求内容の確認", "返金対応"] and system.max_grant_days == 90
    assert [m.slug for m in system.required_manuals] == ["partner-data"]
    assert {p.employee_no for p in system.grant_owners} == {"G1", "G2"}
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.system_registered")
                              .where(AuditEvent.object_id == "billing")).one().actor_label == "S1"


def test_bad_system_input_names_the_field_and_changes_nothing(client, login, world, clock):
    login(world.admin)
    token = csrf_token_from(client, "/access/systems/new")
    for overrides, message in (({"code": "Bad Code"}, "英小文字"), ({"grant_owners": "E1"}, "E1"),
                               ({"manuals": ["nope"]}, None), ({"code": "customer-info"}, "別の対象システム"),
                               ({"max_grant_days": "0"}, "3660")):
        response = client.post("/access/systems/new", data={"csrf_token": token, **_form(**overrides)})
        page = response.get_data(as_text=True)
        assert response.status_code == 400, overrides
        assert "error-summary" in page
        if message:
            assert message in page, overrides
    assert db.session.scalar(select(func.count(ProtectedSystem.id))) == 1


def test_token_command_prints_the_token_last_and_stores_only_its_hash(app, world, clock):
    result = app.test_cli_runner().invoke(args=["systems", "token", "customer-info", "--name", "顧客情報システム本番"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    row = db.session.scalars(select(ApiToken)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in "".join(str(v) for v in (row.name, row.hint, row.created_by))
    missing = app.test_cli_runner().invoke(args=["systems", "token", "nope"])
    assert missing.exit_code == 1 and "nope" in missing.output
    listed = app.test_cli_runner().invoke(args=["systems", "tokens", "customer-info"])
    assert row.hint in listed.output and token not in listed.output


def test_admin_lists_and_revokes_tokens(app, client, login, world, clock):
    result = app.test_cli_runner().invoke(args=["systems", "token", "customer-info"])
    token = result.output.strip().splitlines()[-1]
    login(world.admin)
    page = client.get("/access/systems/customer-info").get_data(as_text=True)
    row = db.session.scalars(select(ApiToken)).one()
    assert row.hint in page and token not in page
    csrf = csrf_token_from(client, "/access/systems/customer-info")
    assert client.post(f"/access/tokens/{row.id}/revoke", data={"csrf_token": csrf}).status_code == 302
    response = client.get("/api/v1/access-decisions", query_string={"system": "customer-info", "employee": "E1"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    response.close()


def test_auditor_sees_tokens_but_cannot_revoke_or_register(client, login, world, clock):
    from portal.access.systems import create_api_token

    row, _token = create_api_token(world.admin, world.system, "x")
    db.session.commit()
    login(world.auditor)
    assert row.hint in client.get("/access/systems/customer-info").get_data(as_text=True)
    csrf = csrf_token_from(client, "/access/systems/customer-info")
    assert client.post(f"/access/tokens/{row.id}/revoke", data={"csrf_token": csrf}).status_code == 403
    assert client.post("/access/systems/new", data={"csrf_token": csrf, **_form()}).status_code == 403


def test_grant_owner_sets_caps_with_a_reason(client, login, world, clock):
    login(world.owner)
    token = csrf_token_from(client, "/access/systems/customer-info/caps")
    bad = client.post("/access/systems/customer-info/caps",
                      data={"csrf_token": token, "caps": "CUST-FRONT=52\nBACKYARD ninety", "reason": "見直し"})
    assert bad.status_code == 400 and "2行目" in bad.get_data(as_text=True)
    unknown = client.post("/access/systems/customer-info/caps",
                          data={"csrf_token": token, "caps": "NOPE=10", "reason": "上限の見直し"})
    assert unknown.status_code == 400 and "NOPE" in unknown.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(DepartmentCap)) == 0
    good = client.post("/access/systems/customer-info/caps",
                       data={"csrf_token": token, "caps": "CUST-FRONT=52\nBACKYARD=90%", "reason": "上限の見直し"})
    assert good.status_code == 302
    caps = {c.department.code: c.cap_percent for c in db.session.scalars(select(DepartmentCap))}
    assert caps == {"CUST-FRONT": 52, "BACKYARD": 90}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.caps_changed")).one()
    assert event.reason == "上限の見直し" and event.details["after"] == {"CUST-FRONT": "52%", "BACKYARD": "90%"}


def test_another_systems_owner_cannot_set_caps(client, login, world, clock, make_person):
    stranger = make_person("G9", roles=("grant_owner",), department=world.back)
    login(stranger)
    assert client.get("/access/systems/customer-info/caps").status_code == 404


def test_pages_render_for_their_readers(client, login, world, clock):
    for person, paths in ((world.owner, ["/access/systems", "/access/grants", "/access/coverage", "/access/reviews",
                                         "/access/inbox", "/"]),
                          (world.manager, ["/access/inbox", "/access/", "/"]),
                          (world.employee, ["/access/", "/access/systems/customer-info/request"])):
        login(person)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (person.employee_no, path)
        client.post("/logout", data={"csrf_token": csrf_token_from(client)})
