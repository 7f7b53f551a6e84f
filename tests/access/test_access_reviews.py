"""Review campaigns: each grant to the holder's manager; a missed review suspends, never deletes."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.access.models import AccessDecision, AccessEvent, AccessGrant, ReviewItem
from portal.access.reviews import remind_reviewers, review_grant, start_campaign
from portal.audit.models import AuditEvent
from portal.core.refusals import Refusal
from portal.extensions import db
from tests.access_fixtures import START, grant_for, token_for, train
from tests.conftest import csrf_token_from


@pytest.fixture
def two_grants(world, clock):
    for person in (world.employee, world.colleague):
        train(person, world)
    first = grant_for(world, world.employee, days=120)
    second = grant_for(world, world.colleague, days=120)
    return first, second


def _item(grant) -> ReviewItem:
    return db.session.scalars(select(ReviewItem).where(ReviewItem.grant_id == grant.id)).one()


def test_a_missed_review_suspends_the_grant_at_the_deadline(app, client, world, clock, two_grants):
    kept, missed = two_grants
    deadline = START + timedelta(days=7)
    start_campaign(world.owner, world.system, "2026年度上期 点検", deadline)
    db.session.commit()
    assert db.session.scalar(select(func.count(ReviewItem.id))) == 2
    review_grant(world.manager, _item(kept), True, "業務継続のため必要")
    db.session.commit()
    token = token_for(world)
    answer = client.get("/api/v1/access-decisions", query_string={"system": "customer-info", "employee": "E2"},
                        headers={"Authorization": f"Bearer {token}"}).json
    assert answer["allow"] is True and answer["valid_until"] == deadline.isoformat()

    clock.set(deadline)
    answer = client.get("/api/v1/access-decisions", query_string={"system": "customer-info", "employee": "E2"},
                        headers={"Authorization": f"Bearer {token}"}).json
    assert answer["reasons"] == ["grant_suspended", "review_missed"]
    db.session.expire_all()
    assert db.session.get(AccessGrant, missed.id).state == "suspended"
    assert db.session.get(AccessGrant, kept.id).state == "in_force"
    assert _item(missed).outcome == "missed"
    suspended = db.session.scalars(select(AccessEvent).where(AccessEvent.kind == "suspended")).one()
    assert suspended.grant_id == missed.id and suspended.occurred_at == deadline
    assert db.session.get(AccessGrant, missed.id) is not None  # not deleted


def test_a_late_review_brings_a_kept_grant_back(world, clock, two_grants):
    _kept, missed = two_grants
    start_campaign(world.owner, world.system, "点検", START + timedelta(days=7))
    db.session.commit()
    clock.advance(days=8)
    from portal.access.reviews import apply_review_deadlines

    apply_review_deadlines()
    db.session.commit()
    assert db.session.get(AccessDecision, (world.system.id, world.colleague.id)).allow is False
    review_grant(world.manager, _item(missed), True, "遅れたが継続が必要")
    db.session.commit()
    assert db.session.get(AccessDecision, (world.system.id, world.colleague.id)).allow is True
    assert db.session.get(AccessGrant, missed.id).state == "in_force"


def test_revoking_in_a_review_revokes_at_once(world, clock, two_grants):
    first, _second = two_grants
    start_campaign(world.owner, world.system, "点検", START + timedelta(days=7))
    review_grant(world.manager, _item(first), False, "業務で不要になった")
    db.session.commit()
    assert db.session.get(AccessGrant, first.id).state == "revoked"
    assert _item(first).outcome == "revoked"


def test_only_the_holders_manager_reviews(world, clock, two_grants, make_department, make_person):
    first, _second = two_grants
    start_campaign(world.owner, world.system, "点検", START + timedelta(days=7))
    other = make_department("SALES-PLAN")
    stranger = make_person("M9", roles=("manager",), department=other, manages=[other])
    with pytest.raises(Refusal, match="not_the_manager"):
        review_grant(stranger, _item(first), True, "継続が必要")
    with pytest.raises(Refusal, match="not_grant_owner"):
        start_campaign(world.manager, world.system, "点検", START + timedelta(days=7))


def test_reminders_go_to_managers_with_pending_grants(app, world, clock, two_grants):
    from pathlib import Path

    campaign = start_campaign(world.owner, world.system, "点検", START + timedelta(days=7))
    db.session.commit()
    before = len(list(Path(app.config["PORTAL_MAIL_DIR"]).glob("*.eml")))
    assert remind_reviewers(world.owner, campaign) == 1
    db.session.commit()
    assert len(list(Path(app.config["PORTAL_MAIL_DIR"]).glob("*.eml"))) == before + 1
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.review_reminded")).one()


def test_campaign_pages_and_export(client, login, world, clock, two_grants):
    kept, _missed = two_grants
    login(world.owner)
    token = csrf_token_from(client, "/access/reviews")
    deadline = (START + timedelta(days=7)).date()
    response = client.post("/access/reviews/new", data={
        "csrf_token": token, "system": "customer-info", "title": "=HYPERLINK(\"x\") 点検",
        "deadline_year": deadline.year, "deadline_month": deadline.month, "deadline_day": deadline.day})
    assert response.status_code == 302
    campaign_url = response.headers["Location"]
    client.post("/logout", data={"csrf_token": csrf_token_from(client)})
    login(world.manager)
    inbox = client.get("/access/inbox").get_data(as_text=True)
    item = _item(kept)
    token = csrf_token_from(client, "/access/inbox")
    response = client.post(f"/access/review-items/{item.id}", data={
        "csrf_token": token, f"item{item.id}-decision": "keep", f"item{item.id}-reason": "継続して必要"})
    assert response.status_code == 302 and "髙橋 優子（E1）" in inbox
    client.post("/logout", data={"csrf_token": csrf_token_from(client)})
    clock.advance(days=8)
    login(world.auditor)
    page = client.get(campaign_url).get_data(as_text=True)
    assert "継続して必要" in page
    export = client.get(campaign_url + "/export.csv")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    export.close()
    assert sorted(r[5] for r in rows[1:]) == ["kept", "missed"]


def test_review_page_refuses_a_deadline_in_the_past(client, login, world, clock):
    login(world.owner)
    token = csrf_token_from(client, "/access/reviews")
    response = client.post("/access/reviews/new", data={
        "csrf_token": token, "system": "customer-info", "title": "点検",
        "deadline_year": 2020, "deadline_month": 1, "deadline_day": 1})
    assert response.status_code == 400


def test_cron_commands_remind_and_apply_deadlines(app, world, clock, two_grants):
    start_campaign(world.owner, world.system, "点検", START + timedelta(days=7))
    db.session.commit()
    runner = app.test_cli_runner()
    reminded = runner.invoke(args=["access", "remind"])
    assert reminded.exit_code == 0 and "managers reminded: 1" in reminded.output
    clock.advance(days=8)
    applied = runner.invoke(args=["access", "expire"])
    assert applied.exit_code == 0 and "review items past deadline: 2" in applied.output
    db.session.expire_all()
    assert {g.state for g in db.session.scalars(select(AccessGrant))} == {"suspended"}
    assert db.session.scalar(select(func.count(ReviewItem.id)).where(ReviewItem.outcome == "missed")) == 2
