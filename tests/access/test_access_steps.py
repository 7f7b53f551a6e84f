"""Access steps happen once and say what happened meanwhile; a request waits for training (受講完了待ち)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.access.models import AccessEvent, AccessGrant, AccessRequest, ReviewItem
from portal.access.refresh import refresh_access_decisions
from portal.access.reviews import review_grant, start_campaign
from portal.access.services import (
    GrantDecision,
    decide_approval,
    decide_grant,
    expire_requests,
    request_access,
    revoke_grant,
)
from portal.audit.models import AuditEvent
from portal.core.workflow import StepLost
from portal.extensions import db
from tests.access_fixtures import EXPLANATION, PURPOSES, START, grant_for, train
from tests.certificates_fixtures import mail_files
from tests.conftest import csrf_token_from, https_client, sign_in


def _browser(app, person):
    browser = https_client(app)
    assert sign_in(browser, person).status_code == 302
    return browser


def _post(browser, url: str, page: str, data: dict):
    return browser.post(url, data={"csrf_token": csrf_token_from(browser, page), **data})


def _count(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


@pytest.fixture
def approved(world, clock):
    """E1 asked (training not current) and the manager approved (committed)."""
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(world.manager, request, True, "業務上必要と確認")
    db.session.commit()
    return request


def test_the_grant_owner_is_offered_waiting_not_granting_while_training_is_not_current(app, world, approved):
    page = _browser(app, world.owner).get(f"/access/requests/{approved.id}").get_data(as_text=True)
    assert 'value="wait"' in page and 'value="grant"' not in page and "受講完了待ちにする" in page
    train(world.employee, world)
    db.session.commit()
    page = _browser(app, world.owner).get(f"/access/requests/{approved.id}").get_data(as_text=True)
    assert 'value="grant"' in page and 'value="wait"' not in page


@pytest.mark.parametrize("choice", ["wait", "grant"])  # "grant" from a page opened before: waits just the same
def test_the_request_waits_for_training_and_the_requester_sees_what_to_finish(app, world, approved, choice):
    owner = _browser(app, world.owner)
    url = f"/access/requests/{approved.id}"
    response = _post(owner, f"{url}/grant", url, {"decision": choice, "days": "90", "reason": "研修修了後に付与"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(AccessRequest, approved.id).status == "awaiting_training"
    assert db.session.scalar(select(func.count(AccessGrant.id))) == 0
    page = _browser(app, world.employee).get(url).get_data(as_text=True)
    assert "受講完了待ち" in page and "却下" not in page and "研修修了後に付与" in page  # the reason, in the history
    assert "コラボ事業者の契約者情報の取扱い" in page and 'href="/training/"' in page
    listed = _browser(app, world.employee).get("/access/").get_data(as_text=True)
    assert "受講完了待ち" in listed
    assert approved.id not in [r.id for r in __import__("portal.access.queries", fromlist=["x"]).awaiting_grant_by(
        world.owner, START)]


def test_it_comes_back_to_the_grant_owners_when_training_is_current(app, world, approved):
    decide_grant(world.owner, approved, GrantDecision(True, "研修修了後に付与", days=90))
    db.session.commit()
    before = sum("付与依頼" in m["Subject"] for m in mail_files(app))
    train(world.employee, world)
    refresh_access_decisions([world.employee.id])  # what attesting does (as test_training_revocation.py shows)
    db.session.commit()
    request = db.session.get(AccessRequest, approved.id)
    assert request.status == "awaiting_grant"
    assert _count("access.request_training_completed") == 1
    assert sum("付与依頼" in m["Subject"] for m in mail_files(app)) == before + 2  # to both grant owners
    refresh_access_decisions([world.employee.id])  # a second refresh moves nothing
    db.session.commit()
    assert _count("access.request_training_completed") == 1
    assert decide_grant(world.owner, request, GrantDecision(True, "研修修了を確認", days=90)).grant is not None


def test_a_waiting_request_expires_at_its_deadline(world, approved, clock):
    decide_grant(world.owner, approved, GrantDecision(True, "研修修了後に付与", days=90))
    db.session.commit()
    clock.set(approved.expires_at + timedelta(seconds=1))
    assert expire_requests() == 1
    db.session.commit()
    assert db.session.get(AccessRequest, approved.id).status == "expired"
    train(world.employee, world)
    refresh_access_decisions([world.employee.id])
    assert db.session.get(AccessRequest, approved.id).status == "expired"  # too late: it stays expired


def test_a_manager_who_decides_second_is_told_who_decided_first(app, world, clock, make_person):
    second_manager = make_person("M2", roles=("manager",), department=world.front, manages=[world.front],
                                 name="中村 恵")
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    db.session.commit()
    url = f"/access/requests/{request.id}"
    first, second = _browser(app, world.manager), _browser(app, second_manager)
    token = csrf_token_from(second, url)  # the second manager has the page open
    assert _post(first, f"{url}/approval", url, {"decision": "approve", "reason": "業務上必要"}).status_code == 302
    late = second.post(f"{url}/approval", data={"csrf_token": token, "decision": "refuse", "reason": "不要と判断"})
    page = late.get_data(as_text=True)
    assert late.status_code == 409 and "この申請はすでに山﨑 健一さんが承認しました" in page
    assert "object-src 'none'" in late.headers["Content-Security-Policy"]
    db.session.expire_all()
    assert db.session.get(AccessRequest, request.id).status == "awaiting_grant"
    assert _count("access.request_approved") == 1 and _count("access.request_refused") == 0
    kinds = db.session.scalars(select(AccessEvent.kind).where(AccessEvent.request_id == request.id)
                               .order_by(AccessEvent.id)).all()
    assert kinds == ["requested", "approved"]


def test_a_second_revocation_is_told_and_writes_nothing(app, world, clock):
    train(world.employee, world)
    grant = grant_for(world, world.employee)
    revoke_grant(world.owner, grant, "異動のため")
    db.session.commit()
    url = f"/access/grants/{grant.id}"
    response = _post(_browser(app, world.manager), f"{url}/revoke", url, {"reason": "重ねて取消"})
    assert response.status_code == 409
    assert "この権限はすでに𠮷田 誠さんが取り消しました" in response.get_data(as_text=True)
    assert _count("access.revoked") == 1


def test_a_keep_never_stands_on_a_grant_revoked_meanwhile(world, clock, make_person):
    train(world.employee, world)
    grant = grant_for(world, world.employee)
    campaign = start_campaign(world.owner, world.system, "2026年度上期点検", START + timedelta(days=10))
    db.session.commit()
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id))
    revoke_grant(world.owner, db.session.get(AccessGrant, grant.id), "異動のため")  # meanwhile, on the grant's page
    db.session.commit()
    with pytest.raises(StepLost) as lost:
        review_grant(world.manager, item, True, "引き続き必要")
    assert lost.value.subject == "access_grant" and lost.value.meanwhile.state == "revoked"
    db.session.rollback()
    assert db.session.get(ReviewItem, item.id).outcome == "pending"
    assert _count("access.reviewed") == 0


def test_a_review_decided_by_another_manager_is_told(app, world, clock, make_person):
    second_manager = make_person("M2", roles=("manager",), department=world.front, manages=[world.front],
                                 name="中村 恵")
    train(world.employee, world)
    grant_for(world, world.employee)
    campaign = start_campaign(world.owner, world.system, "2026年度上期点検", START + timedelta(days=10))
    db.session.commit()
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id))
    first, second = _browser(app, world.manager), _browser(app, second_manager)
    token = csrf_token_from(second, "/access/inbox")
    prefix = f"item{item.id}"
    fields = {f"{prefix}-decision": "keep", f"{prefix}-reason": "引き続き必要"}
    assert _post(first, f"/access/review-items/{item.id}", "/access/inbox", fields).status_code == 302
    late = second.post(f"/access/review-items/{item.id}",
                       data={"csrf_token": token, f"{prefix}-decision": "revoke", f"{prefix}-reason": "不要と判断した"})
    assert late.status_code == 409 and "山﨑 健一さんが点検し、継続としました" in late.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ReviewItem, item.id).outcome == "kept" and _count("access.reviewed") == 1
