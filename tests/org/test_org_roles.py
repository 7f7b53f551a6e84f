"""Role management by admins: reason, audit, never one's own, effect on the next request."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.conftest import csrf_token_from, https_client, sign_in
from tests.org_fixtures import audit_count, person


@pytest.fixture
def admin(make_person, login):
    """A signed-in administrator."""
    person = make_person("S1", roles=("admin",), name="渡辺 聡", name_kana="わたなべ さとし")
    login(person)
    return person


def _form(client, person_id: int) -> dict:
    html = client.get(f"/org/people/{person_id}").get_data(as_text=True)
    return {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1),
            "state": re.search(r'name="state" type="hidden" value="([^"]*)"', html).group(1)}


def _post(client, person_id: int, **fields):
    data = {**_form(client, person_id), **fields}
    return client.post(f"/org/people/{person_id}/roles", data=data)


def test_admin_changes_roles_and_managed_departments_with_a_reason(client, admin, make_person, make_department):
    sales = make_department("SALES", name_ja="営業企画部")
    target = make_person("E1", name="佐藤 花子")
    response = _post(client, target.id, roles=["manager", "auditor"], managed=[str(sales.id)],
                     reason="申請 2026-041\r\n承認済み")
    assert response.status_code == 302
    changed = person("E1")
    assert changed.roles == {"employee", "manager", "auditor"}
    assert [d.code for d in changed.managed_departments] == ["SALES"]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == "E1").order_by(AuditEvent.seq)).all()
    assert [e.action for e in events] == ["org.roles_changed", "org.manages_changed"]
    assert all(e.actor_id == admin.id and e.reason == "申請 2026-041 承認済み" for e in events)  # one line
    assert events[0].details == {"before": [], "after": ["auditor", "manager"]}
    assert events[1].details == {"before": [], "after": ["SALES"]}
    assert "佐藤 花子（E1）の役割を変更しました" in client.get(f"/org/people/{target.id}").get_data(as_text=True)


def test_the_change_takes_effect_on_the_persons_next_request(app, client, admin, make_person):
    target = make_person("T1", roles=("training_admin",))
    their_browser = https_client(app)
    assert sign_in(their_browser, target).status_code == 302
    assert their_browser.get("/org/departments").status_code == 200
    assert _post(client, target.id, roles=["auditor"], reason="異動").status_code == 302
    assert their_browser.get("/org/departments").status_code == 200  # auditors read departments too
    assert their_browser.get("/org/people").status_code == 200
    assert _post(client, target.id, reason="権限の整理").status_code == 302  # no roles beyond employee
    assert their_browser.get("/org/departments").status_code == 403
    assert their_browser.get("/").status_code == 200  # still signed in, as an employee


def test_no_one_changes_their_own_roles(client, admin):
    page = client.get(f"/org/people/{admin.id}").get_data(as_text=True)
    assert "自分の役割は変更できません" in page and 'name="reason"' not in page
    token = csrf_token_from(client, "/org/people")
    response = client.post(f"/org/people/{admin.id}/roles",
                           data={"csrf_token": token, "roles": ["admin", "auditor"], "reason": "自分で"})
    assert response.status_code == 403
    assert person("S1").roles == {"employee", "admin"}
    assert audit_count("org.roles_changed") == 0


def test_the_service_refuses_own_roles_too(app, make_person):
    from portal.org.services import RoleChangeRefused, change_roles

    me = make_person("S1", roles=("admin",))
    with pytest.raises(RoleChangeRefused, match="own_roles"):
        change_roles(me, me, ["admin", "auditor"], [], "自分で")


def test_a_reason_is_required(client, admin, make_person):
    target = make_person("E1")
    response = _post(client, target.id, roles=["auditor"], reason="  ")
    assert response.status_code == 400
    assert "変更の理由を入力してください" in response.get_data(as_text=True)
    assert person("E1").roles == {"employee"} and audit_count("org.roles_changed") == 0


@pytest.mark.parametrize("fields, message", [
    ({"roles": ["superuser"]}, "役割は一覧から選んでください"),
    ({"managed": ["999999"], "roles": ["manager"]}, "部門は一覧から選んでください"),
])
def test_tampered_choices_are_refused(client, admin, make_person, fields, message):
    target = make_person("E1")
    response = _post(client, target.id, reason="改ざん", **fields)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert person("E1").roles == {"employee"}


def test_managed_departments_need_the_manager_role(client, admin, make_person, make_department):
    sales = make_department("SALES")
    target = make_person("E1")
    response = _post(client, target.id, roles=["auditor"], managed=[str(sales.id)], reason="誤り")
    assert response.status_code == 400
    assert "部門を管理できるのは管理者だけです" in response.get_data(as_text=True)
    assert person("E1").managed_departments == []


def test_a_concurrent_change_is_not_overwritten(client, admin, make_person):
    target = make_person("E1")
    stale = _form(client, target.id)
    assert _post(client, target.id, roles=["auditor"], reason="一人目").status_code == 302
    response = client.post(f"/org/people/{target.id}/roles", data={**stale, "roles": ["admin"], "reason": "二人目"})
    assert response.status_code == 409
    assert "他の人がこの社員の役割を変更しました" in response.get_data(as_text=True)
    assert person("E1").roles == {"employee", "auditor"}


def test_saving_unchanged_roles_writes_no_event(client, admin, make_person):
    target = make_person("E1", roles=("auditor",))
    assert _post(client, target.id, roles=["auditor"], reason="確認のみ").status_code == 302
    assert audit_count("org.roles_changed") == 0


@pytest.mark.parametrize("role", ["auditor", "training_admin", "manager"])
def test_only_admins_change_roles(client, make_person, login, role):
    viewer = make_person("V1", roles=(role,))
    target = make_person("E1")
    login(viewer)
    token = csrf_token_from(client, "/")
    response = client.post(f"/org/people/{target.id}/roles",
                           data={"csrf_token": token, "roles": ["admin"], "reason": "x"})
    assert response.status_code == 403
    assert person("E1").roles == {"employee"}


def test_auditor_gets_403_on_every_organisation_write(app, client, make_person, login):
    target = make_person("E1")
    login(make_person("A1", roles=("auditor",)))
    token = csrf_token_from(client, "/")
    writes = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("org.") and "POST" in rule.methods]
    assert {rule.endpoint for rule in writes} == {"org.person_roles", "org.import_upload", "org.import_apply",
                                                   "org.import_cancel"}
    for rule in writes:
        url = rule.build({"person_id": target.id}, append_unknown=False)[1]
        response = client.post(url, data={"csrf_token": token, "roles": ["auditor"], "reason": "x"})
        assert response.status_code == 403, url
    assert person("E1").roles == {"employee"}
