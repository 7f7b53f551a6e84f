"""Request → manager's approval → grant owner's grant, as people and attackers would try it."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.access.models import AccessDecision, AccessEvent, AccessGrant, AccessRequest
from portal.access.refresh import refresh_access_decisions
from portal.access.services import GrantDecision, decide_approval, decide_grant, request_access
from portal.audit.models import AuditEvent
from portal.core.refusals import Refusal
from portal.extensions import db
from tests.access_fixtures import EXPLANATION, PURPOSES, START, grant_for, train
from tests.conftest import csrf_token_from


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _mails(app) -> list:
    from email import policy
    from email.parser import BytesParser
    from pathlib import Path

    folder = Path(app.config["PORTAL_MAIL_DIR"])
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def test_request_page_says_exactly_what_training_is_missing(client, login, world, clock):
    login(world.employee)
    page = client.get("/access/systems/customer-info/request").get_data(as_text=True)
    assert "受講が完了していないため、まだ閲覧権限を付与できません。" in page
    assert "partner-data" in page and "purpose-approval" in page
    assert page.count("受講対象になっていません") == 2  # not assigned: what to do about it is said


def test_request_page_says_which_manual_lapsed_and_which_counts(client, login, world, clock):
    from tests.access_fixtures import add_edition, assign

    train(world.employee, world)
    add_edition(world.manual, 2)
    assign(world.employee, world.manual, date(2026, 3, 31))  # edition 2 was due yesterday
    db.session.commit()
    login(world.employee)
    page = client.get("/access/systems/customer-info/request").get_data(as_text=True)
    assert "期限を過ぎています。現行の版を読み" in page
    assert page.count('status status--ok">はい') == 1 and page.count('status status--error">いいえ') == 1


def test_request_with_lapsed_training_is_sent_with_a_warning_for_the_manager(app, client, login, world, clock):
    login(world.employee)
    token = csrf_token_from(client, "/access/systems/customer-info/request")
    response = client.post("/access/systems/customer-info/request",
                           data={"csrf_token": token, "purpose": PURPOSES[1], "explanation": EXPLANATION})
    assert response.status_code == 302
    db.session.expire_all()
    request = db.session.scalars(select(AccessRequest)).one()
    assert request.status == "awaiting_approval" and request.purpose == PURPOSES[1]
    assert {gap["slug"] for gap in request.training_gaps} == {"partner-data", "purpose-approval"}
    assert _events("access.requested")[0].actor_label == "E1"
    mails = _mails(app)
    assert len(mails) == 1  # to the one manager of customer front
    assert mails[0]["Subject"].startswith("【承認依頼】") and "髙橋 優子（E1）" in mails[0].get_content()
    assert "partner-data" in mails[0].get_content()  # the manager is warned about the training


@pytest.mark.parametrize("explanation", [".", "確認", "ああああああああああああああああああああああああ"])
def test_a_dot_is_not_a_purpose(client, login, world, clock, explanation):
    login(world.employee)
    token = csrf_token_from(client, "/access/systems/customer-info/request")
    response = client.post("/access/systems/customer-info/request",
                           data={"csrf_token": token, "purpose": PURPOSES[0], "explanation": explanation})
    assert response.status_code == 400
    assert "error-summary" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AccessRequest.id))) == 0


def test_a_purpose_not_in_the_list_is_refused(client, login, world, clock):
    login(world.employee)
    token = csrf_token_from(client, "/access/systems/customer-info/request")
    response = client.post("/access/systems/customer-info/request",
                           data={"csrf_token": token, "purpose": "何でも", "explanation": EXPLANATION})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(AccessRequest.id))) == 0


def test_full_flow_in_the_browser_pages(app, client, login, world, clock):
    train(world.employee, world)
    db.session.commit()
    login(world.employee)
    token = csrf_token_from(client, "/access/systems/customer-info/request")
    client.post("/access/systems/customer-info/request",
                data={"csrf_token": token, "purpose": PURPOSES[0], "explanation": EXPLANATION})
    request_id = db.session.scalar(select(AccessRequest.id))
    client.post("/logout", data={"csrf_token": csrf_token_from(client)})

    login(world.manager)
    inbox = client.get("/access/inbox").get_data(as_text=True)
    assert "髙橋 優子（E1）" in inbox
    token = csrf_token_from(client, f"/access/requests/{request_id}")
    response = client.post(f"/access/requests/{request_id}/approval",
                           data={"csrf_token": token, "decision": "approve", "reason": "業務上必要"})
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token_from(client)})

    login(world.owner)
    page = client.get(f"/access/requests/{request_id}").get_data(as_text=True)
    assert "付与または却下" in page or "Grant or refuse" in page
    token = csrf_token_from(client, f"/access/requests/{request_id}")
    response = client.post(f"/access/requests/{request_id}/grant",
                           data={"csrf_token": token, "decision": "grant", "days": "90", "reason": "研修修了を確認"})
    assert response.status_code == 302
    db.session.expire_all()
    grant = db.session.scalars(select(AccessGrant)).one()
    assert grant.state == "in_force" and grant.expires_at == START + timedelta(days=90)
    decision = db.session.get(AccessDecision, (world.system.id, world.employee.id))
    assert decision.allow and decision.recheck_at is not None
    kinds = [e.kind for e in db.session.scalars(select(AccessEvent).order_by(AccessEvent.id))]
    assert kinds == ["requested", "approved", "granted"]
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("access.%"))
                                                 .order_by(AuditEvent.seq))][-3:] == [
        "access.requested", "access.request_approved", "access.granted"]


def test_a_grant_waits_for_training_instead_of_refusing(app, world, clock):
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(world.manager, request, True, "業務上必要")
    db.session.commit()
    outcome = decide_grant(world.owner, request, GrantDecision(True, "付与します", days=30))
    db.session.commit()
    assert outcome.grant is None and outcome.refused_reasons == []
    assert outcome.waiting_for == ["training_not_current:partner-data", "training_not_current:purpose-approval"]
    assert request.status == "awaiting_training" and request.decision_reason == ""
    assert db.session.scalar(select(func.count(AccessGrant.id))) == 0
    waiting = _events("access.request_awaiting_training")[0]
    assert waiting.details["training"] == outcome.waiting_for and waiting.actor_label == "G1"
    assert _events("access.grant_refused") == []
    told = [m for m in _mails(app) if m["To"] == world.employee.email and "受講完了待ち" in m["Subject"]]
    assert len(told) == 1
    body = told[0].get_content()
    assert "コラボ事業者の契約者情報の取扱い" in body and "利用目的の明確化と承認" in body


def test_old_edition_attestation_does_not_count_for_a_grant(world, clock):
    from tests.access_fixtures import add_edition, assign, attest

    train(world.employee, world)
    add_edition(world.manual, 2)  # material: attested edition 1 only
    assign(world.employee, world.manual, date(2026, 3, 31))  # and its due date has passed
    db.session.commit()
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(world.manager, request, True, "業務上必要")
    outcome = decide_grant(world.owner, request, GrantDecision(True, "付与します", days=30))
    assert outcome.waiting_for == ["training_not_current:partner-data"]
    attest(world.employee, world.manual, 2)
    refresh_access_decisions([world.employee.id])  # what the training feature calls after an attestation
    db.session.refresh(request)
    assert request.status == "awaiting_grant"  # back with the grant owners, nobody asked again
    assert [e.kind for e in db.session.scalars(select(AccessEvent).where(AccessEvent.request_id == request.id)
                                                .order_by(AccessEvent.id))] == [
        "requested", "approved", "awaiting_training", "training_completed"]
    assert decide_grant(world.owner, request, GrantDecision(True, "付与します", days=30)).grant is not None


def test_nobody_decides_their_own_request(world, clock, make_person):
    both = make_person("MG", roles=("manager", "grant_owner"), department=world.front, manages=[world.front])
    world.system.grant_owners.append(both)
    train(both, world)
    db.session.commit()
    own = request_access(both, world.system, PURPOSES[0], EXPLANATION)
    with pytest.raises(Refusal, match="own_request"):
        decide_approval(both, own, True, "自分で承認する")
    decide_approval(world.manager, own, True, "業務上必要")
    with pytest.raises(Refusal, match="own_request"):
        decide_grant(both, own, GrantDecision(True, "自分で付与する", days=30))


def test_the_approver_cannot_also_grant(world, clock, make_person):
    both = make_person("MG", roles=("manager", "grant_owner"), department=world.back, manages=[world.front])
    world.system.grant_owners.append(both)
    train(world.employee, world)
    db.session.commit()
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(both, request, True, "業務上必要")
    with pytest.raises(Refusal, match="approver_cannot_grant"):
        decide_grant(both, request, GrantDecision(True, "研修修了を確認", days=30))
    assert decide_grant(world.owner, request, GrantDecision(True, "研修修了を確認", days=30)).grant is not None


def test_a_manager_of_another_department_sees_404(client, login, world, clock, make_department, make_person):
    other_dept = make_department("SALES-PLAN")
    stranger = make_person("M9", roles=("manager",), department=other_dept, manages=[other_dept])
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    db.session.commit()
    login(stranger)
    assert client.get(f"/access/requests/{request.id}").status_code == 404
    token = csrf_token_from(client, "/access/inbox")
    response = client.post(f"/access/requests/{request.id}/approval",
                           data={"csrf_token": token, "decision": "approve", "reason": "業務上必要"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(AccessRequest, request.id).status == "awaiting_approval"


def test_an_employee_cannot_see_a_colleagues_request_or_grant(client, login, world, clock):
    train(world.colleague, world)
    grant = grant_for(world, world.colleague)
    login(world.employee)
    assert client.get(f"/access/requests/{grant.request_id}").status_code == 404
    assert client.get(f"/access/grants/{grant.id}").status_code == 404


def test_posted_extra_fields_are_ignored_and_days_are_capped(client, login, world, clock):
    train(world.employee, world)
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(world.manager, request, True, "業務上必要")
    db.session.commit()
    login(world.owner)
    token = csrf_token_from(client, f"/access/requests/{request.id}")
    too_long = client.post(f"/access/requests/{request.id}/grant", data={
        "csrf_token": token, "decision": "grant", "days": "9999", "reason": "付与します"})
    assert too_long.status_code == 400
    response = client.post(f"/access/requests/{request.id}/grant", data={
        "csrf_token": token, "decision": "grant", "days": "30", "reason": "付与します",
        "person_id": str(world.colleague.id), "role": "admin", "state": "in_force", "expires_at": "2099-01-01"})
    assert response.status_code == 302
    db.session.expire_all()
    grant = db.session.scalars(select(AccessGrant)).one()
    assert grant.person_id == world.employee.id and grant.expires_at == START + timedelta(days=30)
    assert not world.owner.has_role("admin")


def test_requests_expire_when_not_decided_in_time(app, world, clock):
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    db.session.commit()
    clock.advance(days=14)
    with pytest.raises(Refusal, match="request_expired"):
        decide_approval(world.manager, request, True, "業務上必要")
    db.session.commit()
    assert request.status == "expired"
    other = request_access(world.colleague, world.system, PURPOSES[0], EXPLANATION)
    db.session.commit()
    clock.advance(days=15)
    result = app.test_cli_runner().invoke(args=["access", "expire"])
    assert result.exit_code == 0 and "requests expired: 1" in result.output
    db.session.expire_all()
    assert db.session.get(AccessRequest, other.id).status == "expired"
    assert len(_events("access.request_expired")) == 2


def test_one_open_request_per_system(world, clock):
    request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    with pytest.raises(Refusal, match="request_open"):
        request_access(world.employee, world.system, PURPOSES[1], EXPLANATION)


def test_a_new_grant_supersedes_the_live_one(world, clock):
    train(world.employee, world)
    first = grant_for(world, world.employee, days=30)
    second = grant_for(world, world.employee, days=60)
    db.session.expire_all()
    assert db.session.get(AccessGrant, first.id).state == "revoked"
    decision = db.session.get(AccessDecision, (world.system.id, world.employee.id))
    assert decision.allow and decision.grant_id == second.id


def test_revocation_takes_effect_at_once_and_is_audited(client, login, world, clock):
    train(world.employee, world)
    grant = grant_for(world, world.employee)
    login(world.owner)
    token = csrf_token_from(client, f"/access/grants/{grant.id}")
    response = client.post(f"/access/grants/{grant.id}/revoke", data={"csrf_token": token, "reason": "異動のため"})
    assert response.status_code == 302
    db.session.expire_all()
    decision = db.session.get(AccessDecision, (world.system.id, world.employee.id))
    assert not decision.allow and json.loads(decision.reasons_json) == ["grant_revoked"]
    event = _events("access.revoked")[0]
    assert event.reason == "異動のため" and event.actor_label == "G1" and event.source


def test_auditor_reads_history_but_cannot_revoke(client, login, world, clock):
    train(world.employee, world)
    grant = grant_for(world, world.employee)
    login(world.auditor)
    page = client.get(f"/access/grants/{grant.id}").get_data(as_text=True)
    assert "髙橋 優子（E1）" in page
    token = csrf_token_from(client, f"/access/grants/{grant.id}")
    assert client.post(f"/access/grants/{grant.id}/revoke",
                       data={"csrf_token": token, "reason": "監査"}).status_code == 403


def test_a_grant_at_the_moment_training_stops_counting_is_refused(world, clock):
    from portal.access.decision import end_of_day_jst
    from tests.access_fixtures import add_edition, assign

    train(world.employee, world)
    add_edition(world.manual, 2)
    assign(world.employee, world.manual, date(2026, 4, 5))  # edition 2 due on 5 April (JST)
    db.session.commit()
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(world.manager, request, True, "業務上必要")
    db.session.commit()
    lapse = end_of_day_jst(date(2026, 4, 5))
    clock.set(lapse)
    outcome = decide_grant(world.owner, request, GrantDecision(True, "研修修了を確認", days=30))
    assert outcome.waiting_for == ["training_not_current:partner-data"]
    db.session.rollback()
    clock.set(lapse - timedelta(microseconds=1))
    outcome = decide_grant(world.owner, db.session.get(AccessRequest, request.id),
                           GrantDecision(True, "研修修了を確認", days=30))
    assert outcome.grant is not None
    decision = db.session.get(AccessDecision, (world.system.id, world.employee.id))
    assert decision.allow and decision.recheck_at == lapse  # and the API recomputes right then
