"""What the daily run does beyond reminders and the access run: the audit anchor once a day, recurring
review campaigns (once per period, whatever the consumers), and the purge of ended sign-in links."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.access import recurring
from portal.access.models import ProtectedSystem, ReviewCampaign, ReviewItem
from portal.access.recurring import add_months, next_campaign_day, start_due_campaigns
from portal.access.reviews import start_campaign
from portal.audit.anchors import FILE_NAME
from portal.audit.models import AuditEvent
from portal.auth.models import AccountToken
from portal.daily import purge_links
from portal.extensions import db
from portal.jobs import engine, schedules  # noqa: F401  (imported before the clock patches utcnow)
from portal.jobs.queue import run_pending
from portal.jobs.schedules import tick
from tests.access_fixtures import START, grant_for, train
from tests.conftest import csrf_token_from


@pytest.fixture
def app_overrides(queue_by_hand) -> dict:
    """The queue runs by hand (tests/jobs_fixtures.py)."""
    return queue_by_hand


JST = timezone(timedelta(hours=9))


def _at(day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=JST).astimezone(timezone.utc)


def _daily(app) -> None:
    """Two consumers' ticks, then the queue run: what one morning's daily run does."""
    tick()
    tick()
    run_pending(app)


def _campaigns() -> list[ReviewCampaign]:
    db.session.expire_all()
    return list(db.session.scalars(select(ReviewCampaign).order_by(ReviewCampaign.id)))


def _quarterly(system: ProtectedSystem) -> None:
    system.review_every_months, system.review_deadline_days = 3, 14
    db.session.commit()


def test_months_are_added_by_the_calendar_and_a_short_month_ends_early():
    assert add_months(date(2026, 4, 1), 3) == date(2026, 7, 1)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert next_campaign_day(None, 3, date(2026, 5, 2)) == date(2026, 5, 2)
    assert next_campaign_day(None, None, date(2026, 5, 2)) is None
    # 23:30 UTC on 31 March is 1 April in Japan: the months count from the Japan-time day
    assert next_campaign_day(datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc), 3,
                             date(2026, 5, 2)) == date(2026, 7, 1)


def test_the_audit_anchor_is_written_once_a_day(app, clock, world):
    anchors = Path(app.config["PORTAL_AUDIT_ANCHOR_DIR"]) / FILE_NAME
    clock.set(_at(date(2026, 4, 1)))
    _daily(app)
    assert len(anchors.read_text().splitlines()) == 1
    clock.advance(hours=5)
    _daily(app)
    assert len(anchors.read_text().splitlines()) == 1
    clock.set(_at(date(2026, 4, 2)))
    _daily(app)
    assert len(anchors.read_text().splitlines()) == 2
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "audit.anchored")) == 2


def test_a_quarterly_campaign_starts_by_itself_once_three_months_after_the_last(app, clock, world):
    clock.set(START)  # 1 April, 12:00 in Japan
    train(world.employee, world)
    grant = grant_for(world, world.employee, days=180)
    first = start_campaign(world.owner, world.system, "2026年度 第1四半期 点検", START + timedelta(days=7))
    db.session.commit()
    _quarterly(world.system)
    clock.set(_at(date(2026, 6, 30)))
    _daily(app)
    assert [c.id for c in _campaigns()] == [first.id]
    clock.set(_at(date(2026, 7, 1)))
    _daily(app)
    clock.advance(hours=3)
    _daily(app)
    clock.set(_at(date(2026, 7, 2)))
    _daily(app)
    campaigns = _campaigns()
    assert len(campaigns) == 2
    started = campaigns[1]
    assert started.started_by_id is None and started.recurrence_key == f"after:{first.id}"
    assert started.deadline.replace(tzinfo=timezone.utc) == _at(date(2026, 7, 16), 0)  # end of 15 July, JST
    items = db.session.scalars(select(ReviewItem.grant_id).where(ReviewItem.campaign_id == started.id)).all()
    assert items == [grant.id]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.review_started")
                               .order_by(AuditEvent.seq.desc())).first()
    assert event.actor_label == "" and "定期点検" in event.reason and "3か月" in event.reason
    clock.set(_at(date(2026, 10, 1)))
    _daily(app)
    assert [c.recurrence_key for c in _campaigns()] == [None, f"after:{first.id}", f"after:{started.id}"]


def test_two_runs_deciding_at_once_start_one_campaign(app, clock, world, monkeypatch):
    clock.set(_at(date(2026, 5, 1)))
    _quarterly(world.system)
    assert start_due_campaigns() == {"campaigns_started": ["customer-info"]}
    # A second run that read the state before the first committed: it also sees no campaign yet.
    monkeypatch.setattr(recurring, "_last_campaign", lambda system_id: None)
    assert start_due_campaigns() == {"campaigns_started": []}
    assert [c.recurrence_key for c in _campaigns()] == ["first"]


def test_a_system_without_a_recurrence_gets_no_campaign(app, clock, world):
    clock.set(_at(date(2026, 5, 1)))
    _daily(app)
    assert _campaigns() == []


def test_admin_sets_the_recurrence_and_bad_values_are_refused_in_japanese(client, login, world, clock):
    login(world.admin)
    path = "/access/systems/customer-info/edit"
    token = csrf_token_from(client, path)
    form = {"csrf_token": token, "code": "customer-info", "name_ja": "顧客情報管理システム", "purposes": "確認",
            "grant_owners": "G1", "max_grant_days": "180", "request_expiry_days": "14"}
    for months, days, message in (("0", "14", "1〜24"), ("25", "14", "1〜24"), ("3", "0", "1〜90"),
                                  ("3", "91", "1〜90")):
        response = client.post(path, data={**form, "review_every_months": months, "review_deadline_days": days})
        assert response.status_code == 400 and message in response.get_data(as_text=True), (months, days)
    db.session.expire_all()
    assert db.session.get(ProtectedSystem, world.system.id).review_every_months is None
    response = client.post(path, data={**form, "review_every_months": "3", "review_deadline_days": "14"})
    assert response.status_code == 302
    db.session.expire_all()
    system = db.session.get(ProtectedSystem, world.system.id)
    assert (system.review_every_months, system.review_deadline_days) == (3, 14)
    assert "3か月ごと、期限14日" in client.get("/access/systems/customer-info").get_data(as_text=True)
    response = client.post(path, data={**form, "review_every_months": "", "review_deadline_days": "14"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ProtectedSystem, world.system.id).review_every_months is None


def test_links_that_ended_long_ago_are_purged_and_open_ones_kept(app, clock, world):
    clock.set(_at(date(2026, 8, 1)))
    now = clock.now
    old = {"created_at": now - timedelta(days=100), "expires_at": now - timedelta(days=97)}
    rows = [AccountToken(person_id=world.employee.id, purpose="invitation", token_hash="a" * 64, **old),
            AccountToken(person_id=world.colleague.id, purpose="reset", token_hash="b" * 64, used_at=old["created_at"],
                         created_at=old["created_at"], expires_at=now + timedelta(days=1)),
            AccountToken(person_id=world.manager.id, purpose="invitation", token_hash="c" * 64,
                         created_at=now - timedelta(days=1), expires_at=now - timedelta(hours=1)),
            AccountToken(person_id=world.owner.id, purpose="invitation", token_hash="d" * 64,
                         created_at=now - timedelta(hours=1), expires_at=now + timedelta(days=2))]
    db.session.add_all(rows)
    db.session.commit()
    assert purge_links() == {"links_deleted": 2}
    assert sorted(db.session.scalars(select(AccountToken.token_hash))) == ["c" * 64, "d" * 64]
    assert purge_links() == {"links_deleted": 0}
