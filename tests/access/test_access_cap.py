"""The cap is a standing control: checked whenever a grant can come into force, with a waiting queue."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.access.cap_rules import (
    ADMITTED,
    OVERRIDDEN,
    WAITS,
    CapSpec,
    admission,
    effective_grant_state,
    parse_cap_value,
    unexplained_excess,
)
from portal.access.models import AccessEvent, AccessGrant, DepartmentCap
from portal.access.reviews import review_grant, start_campaign
from portal.access.services import revoke_grant
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.org.models import Person
from tests.access_fixtures import START, add_edition, assign, attest, train
from tests.cap_fixtures import decision, grant_request, hr_import, in_force_count, set_caps, state
from tests.conftest import csrf_token_from, https_client, sign_in

# --- the pure rules ---------------------------------------------------------------------------


def test_caps_are_written_as_a_share_or_a_number_of_people():
    assert parse_cap_value("52") == parse_cap_value("52%") == parse_cap_value("５２％") == CapSpec(percent=52)
    assert parse_cap_value("3人") == parse_cap_value("3 people") == parse_cap_value("3名") == CapSpec(people=3)
    assert parse_cap_value("101%") is None and parse_cap_value("ninety") is None and parse_cap_value("") is None
    assert CapSpec(percent=13).limit(23) == 2 and CapSpec(people=3).limit(23) == 3
    assert CapSpec(percent=13).text() == "13%" and CapSpec(people=3).text() == "3人"


def test_admission_waits_without_room_or_behind_older_grants():
    assert admission(None, 99, 5, False) == ADMITTED
    assert admission(2, 1, 0, False) == ADMITTED
    assert admission(2, 2, 0, False) == WAITS
    assert admission(2, 0, 1, False) == WAITS  # room, but an older grant waits for it
    assert admission(2, 2, 0, True) == OVERRIDDEN
    assert unexplained_excess(2, 4, 1) == 1 and unexplained_excess(2, 3, 1) == 0 and unexplained_excess(None, 9, 0) == 0


def test_a_live_grant_past_its_end_reads_as_expired():
    end = datetime(2026, 5, 1, tzinfo=timezone.utc)
    assert effective_grant_state("in_force", end, end - timedelta(seconds=1)) == "in_force"
    assert effective_grant_state("in_force", end, end) == "expired"
    assert effective_grant_state("waiting_for_room", end, end) == "expired"
    assert effective_grant_state("revoked", end, end) == "revoked"


# --- the queue --------------------------------------------------------------------------------


@pytest.fixture
def front(world, clock, make_person):
    """Customer front with five trained people besides the manager, and a cap of 2 people."""
    people = [world.employee, world.colleague] + [make_person(f"E{n}", department=world.front) for n in (3, 4, 5)]
    for person in people:
        train(person, world)
    db.session.commit()
    set_caps(world, **{"CUST-FRONT": "2人"})
    return people


def test_without_room_a_grant_waits_and_the_oldest_comes_in_when_a_place_frees(app, world, clock, front):
    first, second = grant_request(world, front[0]), grant_request(world, front[1])
    clock.advance(hours=1)
    third = grant_request(world, front[2])
    clock.advance(hours=1)
    fourth = grant_request(world, front[3])
    assert [state(g) for g in (first, second, third, fourth)] == ["in_force", "in_force", "waiting_for_room",
                                                                  "waiting_for_room"]
    assert decision(world, front[2]) == (False, ["waiting_for_room"])
    granted = db.session.scalars(select(AccessEvent).where(AccessEvent.grant_id == third.id)).one()
    assert granted.kind == "granted" and granted.state_after == "waiting_for_room"
    assert granted.department_id == world.front.id
    clock.advance(hours=1)
    revoke_grant(world.owner, first, "業務分担の見直しのため")
    db.session.commit()
    # The oldest waiting grant takes the place at once; the next one still waits.
    assert [state(g) for g in (first, third, fourth)] == ["revoked", "in_force", "waiting_for_room"]
    assert decision(world, front[2]) == (True, [])
    assert in_force_count(world, world.front) == 2
    resumed = db.session.scalars(select(AccessEvent).where(AccessEvent.grant_id == third.id,
                                                           AccessEvent.kind == "resumed")).one()
    assert resumed.occurred_at == clock.now and resumed.details["from"] == "waiting_for_room"


def test_an_expiry_frees_the_place_for_the_queue(world, clock, front):
    grant_request(world, front[0], days=10)
    grant_request(world, front[1], days=90)
    waiting = grant_request(world, front[2])
    assert state(waiting) == "waiting_for_room"
    clock.advance(days=11)
    from portal.access.coverage import catch_up

    catch_up()
    db.session.commit()
    assert state(waiting) == "in_force"


def test_training_current_again_resumes_only_when_there_is_room(world, clock, front):
    lapsing, other = grant_request(world, front[0]), grant_request(world, front[1])
    add_edition(world.manual, 2, effective=date(2026, 4, 1))
    assign(front[0], world.manual, date(2026, 4, 10))
    from portal.access.refresh import refresh_access_decisions

    refresh_access_decisions()  # what publishing the edition does
    db.session.commit()
    clock.set(datetime(2026, 4, 11, 3, 0, tzinfo=timezone.utc))  # the due date has passed
    from portal.access.coverage import catch_up

    catch_up()
    db.session.commit()
    assert state(lapsing) == "suspended"
    newcomer = grant_request(world, front[2])  # takes the free place
    assert state(newcomer) == "in_force"
    attest(front[0], world.manual, 2, at=clock.now)
    refresh_access_decisions([front[0].id])
    db.session.commit()
    assert state(lapsing) == "waiting_for_room" and state(other) == "in_force"
    assert in_force_count(world, world.front) == 2
    queued = db.session.scalars(select(AccessEvent).where(AccessEvent.grant_id == lapsing.id,
                                                          AccessEvent.kind == "queued")).one()
    assert queued.state_after == "waiting_for_room"
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.grant_queued")).one()


def test_a_late_review_keep_does_not_bring_a_grant_over_the_cap(world, clock, front):
    reviewed, _other = grant_request(world, front[0]), grant_request(world, front[1])
    campaign = start_campaign(world.owner, world.system, "点検", START + timedelta(days=7))
    db.session.commit()
    from portal.access.models import ReviewItem
    from portal.access.reviews import apply_review_deadlines

    for item in db.session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id,
                                                            ReviewItem.grant_id != reviewed.id)):
        review_grant(world.manager, item, True, "業務継続のため必要")
    db.session.commit()
    clock.advance(days=8)
    apply_review_deadlines()
    db.session.commit()
    assert state(reviewed) == "suspended"
    grant_request(world, front[2])  # the freed place is taken meanwhile
    item = db.session.scalars(select(ReviewItem).where(ReviewItem.grant_id == reviewed.id)).one()
    review_grant(world.manager, item, True, "遅れたが継続が必要")
    db.session.commit()
    assert state(reviewed) == "waiting_for_room" and in_force_count(world, world.front) == 2


def test_a_leaver_frees_a_place_and_a_rehire_waits_for_one(world, clock, front):
    leaver, _other = grant_request(world, front[0]), grant_request(world, front[1])
    waiting = grant_request(world, front[2])
    clock.advance(days=1)
    hr_import((front[0], None, False))
    assert state(leaver) == "suspended" and state(waiting) == "in_force"
    clock.advance(days=1)
    hr_import((front[0], None, True))
    assert state(leaver) == "waiting_for_room"
    assert decision(world, front[0]) == (False, ["waiting_for_room"])
    assert in_force_count(world, world.front) == 2


def test_a_move_suspends_the_grant_until_the_new_manager_approves_it(app, client, login, world, clock, front,
                                                                      make_person):
    back_manager = make_person("MB", roles=("manager",), department=world.back, manages=[world.back])
    set_caps(world, **{"CUST-FRONT": "2人", "BACKYARD": "1人"})
    moved, _other = grant_request(world, front[0]), grant_request(world, front[1])
    clock.advance(days=1)
    hr_import((front[0], world.back, None))
    assert state(moved) == "suspended"
    assert decision(world, front[0]) == (False, ["grant_suspended", "transfer_unconfirmed"])
    grant = db.session.get(AccessGrant, moved.id)
    db.session.refresh(grant)
    assert grant.department_id == world.back.id
    transferred = db.session.scalars(select(AccessEvent).where(AccessEvent.grant_id == moved.id,
                                                               AccessEvent.kind == "transferred")).one()
    assert transferred.department_id == world.back.id and transferred.state_after == "suspended"
    mails = [BytesParser(policy=policy.default).parsebytes(p.read_bytes())
             for p in sorted(Path(app.config["PORTAL_MAIL_DIR"]).glob("*.eml"))]
    assert any(m["Subject"].startswith("【確認依頼】") and m["To"] == back_manager.email for m in mails)

    login(back_manager)
    inbox = client.get("/access/inbox").get_data(as_text=True)
    assert "/access/transfers/" in inbox
    from portal.access.control_models import TransferConfirmation

    confirmation = db.session.scalars(select(TransferConfirmation)).one()
    token = csrf_token_from(client, f"/access/transfers/{confirmation.id}")
    short = client.post(f"/access/transfers/{confirmation.id}", data={"csrf_token": token, "decision": "approve",
                                                                      "reason": "."})
    assert short.status_code == 400 and state(moved) == "suspended"
    answer = client.post(f"/access/transfers/{confirmation.id}",
                         data={"csrf_token": token, "decision": "approve", "reason": "異動後も同じ業務を担当"})
    assert answer.status_code == 302
    assert state(moved) == "in_force" and decision(world, front[0]) == (True, [])
    # The old department's freed place went to nobody (no one waited); the new one is now full.
    assert in_force_count(world, world.back) == 1 and in_force_count(world, world.front) == 1
    again = client.post(f"/access/transfers/{confirmation.id}",
                        data={"csrf_token": token, "decision": "refuse", "reason": "二度目の判断"})
    assert again.status_code == 400 and state(moved) == "in_force"


def test_a_moved_grant_refused_by_the_new_manager_is_revoked(world, clock, front, make_person):
    back_manager = make_person("MB", roles=("manager",), department=world.back, manages=[world.back])
    moved = grant_request(world, front[0])
    hr_import((front[0], world.back, None))
    from portal.access.control_models import TransferConfirmation
    from portal.access.transfers import decide_transfer

    confirmation = db.session.scalars(select(TransferConfirmation)).one()
    decide_transfer(back_manager, confirmation, False, "異動先の業務では不要")
    db.session.commit()
    assert state(moved) == "revoked"


def test_a_move_into_a_full_department_waits_for_room(world, clock, front, make_person):
    back_manager = make_person("MB", roles=("manager",), department=world.back, manages=[world.back])
    set_caps(world, **{"CUST-FRONT": "2人", "BACKYARD": "0人"})
    moved = grant_request(world, front[0])
    hr_import((front[0], world.back, None))
    from portal.access.control_models import TransferConfirmation
    from portal.access.transfers import decide_transfer

    decide_transfer(back_manager, db.session.scalars(select(TransferConfirmation)).one(), True, "業務上必要")
    db.session.commit()
    assert state(moved) == "waiting_for_room" and in_force_count(world, world.back) == 0


def test_a_department_shrunk_by_hr_is_reported_once(app, client, login, world, clock, front):
    app.config["PORTAL_COMPLIANCE_MAIL"] = "compliance@example.co.jp"
    set_caps(world, **{"CUST-FRONT": "50%"})  # 6 people: 3 may hold a grant
    for person in front[:3]:
        grant_request(world, person)
    clock.advance(days=1)
    hr_import((front[3], None, False), (front[4], None, False))  # 4 people: 2 may hold
    folder = Path(app.config["PORTAL_MAIL_DIR"])
    over = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]
    over = [m for m in over if "上限超過" in m["Subject"]]
    assert sorted(m["To"] for m in over) == sorted([world.owner.email, world.owner2.email, "compliance@example.co.jp"])
    assert all("お客様フロント部" in m.get_content() and "1 人超えています" in m.get_content() for m in over)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.cap_exceeded")).one()
    clock.advance(days=1)
    hr_import((world.colleague, None, False))  # a holder leaves: 3 people, limit 1, 2 in force: still 1 over
    again = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]
    assert len([m for m in again if "上限超過" in m["Subject"]]) == 3  # no second message
    login(world.auditor)
    page = client.get("/access/coverage", query_string={"system": "customer-info"}).get_data(as_text=True)
    assert "上限を 1人 超過" in page
    clock.advance(days=1)
    hr_import((front[3], None, True), (front[4], None, True))  # back within the cap: the excess closes
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.cap_excess_closed")).one()
    page = client.get("/access/coverage", query_string={"system": "customer-info"}).get_data(as_text=True)
    assert "上限を 1人 超過" not in page


def test_caps_in_people_through_the_form(client, login, world, clock):
    login(world.owner)
    token = csrf_token_from(client, "/access/systems/customer-info/caps")
    saved = client.post("/access/systems/customer-info/caps",
                        data={"csrf_token": token, "caps": "CUST-FRONT=2人\nBACKYARD=40%", "reason": "上限の見直し"})
    assert saved.status_code == 302
    caps = {c.department.code: (c.cap_percent, c.cap_people) for c in db.session.scalars(select(DepartmentCap))}
    assert caps == {"CUST-FRONT": (None, 2), "BACKYARD": (40, None)}
    page = client.get("/access/systems/customer-info/caps").get_data(as_text=True)
    assert "BACKYARD=40%\nCUST-FRONT=2人" in page


def test_the_owner_sees_the_queue_and_may_override_with_a_reason(client, login, world, clock, front):
    grant_request(world, front[0]), grant_request(world, front[1])
    clock.advance(hours=1)
    older = grant_request(world, front[2])
    clock.advance(hours=1)
    newer = grant_request(world, front[3])
    login(world.owner)
    page = client.get("/access/grants", query_string={"system": "customer-info"}).get_data(as_text=True)
    queue = page[page.index("空き待ち（待っている順"):]
    assert queue.index(f"/access/grants/{older.id}\"") < queue.index(f"/access/grants/{newer.id}\"")
    token = csrf_token_from(client, "/access/grants")
    refused = client.post(f"/access/grants/{newer.id}/admit", data={f"admit{newer.id}-csrf_token": token,
                                                                    f"admit{newer.id}-reason": ""})
    assert refused.status_code == 303 and state(newer) == "waiting_for_room"
    done = client.post(f"/access/grants/{newer.id}/admit", data={f"admit{newer.id}-csrf_token": token,
                                                                 f"admit{newer.id}-reason": "監査対応のため臨時に必要"})
    assert done.status_code == 302 and state(newer) == "in_force" and state(older) == "waiting_for_room"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.cap_overridden")).one()
    assert event.reason == "監査対応のため臨時に必要" and event.details["waited"] is True


def test_an_auditor_cannot_override(client, login, world, clock, front, make_person):
    grant_request(world, front[0]), grant_request(world, front[1])
    waiting = grant_request(world, front[2])
    login(make_person("AG", roles=("auditor", "grant_owner"), department=world.back))
    token = csrf_token_from(client, "/access/grants")
    answer = client.post(f"/access/grants/{waiting.id}/admit", data={f"admit{waiting.id}-csrf_token": token,
                                                                     f"admit{waiting.id}-reason": "監査のため"})
    assert answer.status_code == 403 and state(waiting) == "waiting_for_room"


def test_an_expired_grant_reads_expired_at_once_without_a_job(app, client, login, world, clock):
    train(world.employee, world)
    from tests.access_fixtures import grant_for

    grant = grant_for(world, world.employee, days=5)
    clock.advance(days=6)  # nothing applied the clock since
    assert state(grant) == "in_force"
    login(world.employee)
    mine = client.get("/access/").get_data(as_text=True)
    grants = mine[mine.index("<caption>あなたの権限</caption>"):]
    grants = grants[:grants.index("</table>")]
    assert "有効期限切れ" in grants and ">有効<" not in grants
    owner = https_client(app)
    sign_in(owner, world.owner)
    listed = owner.get("/access/grants", query_string={"system": "customer-info", "state": "expired"})
    assert f"/access/grants/{grant.id}\"" in listed.get_data(as_text=True)
    in_force = owner.get("/access/grants", query_string={"system": "customer-info", "state": "in_force"})
    assert f"/access/grants/{grant.id}\"" not in in_force.get_data(as_text=True)


def test_people_created_one_at_a_time_get_a_history_row(world, make_person):
    from portal.org.history import PersonDepartmentHistory

    person = make_person("H1", department=world.front)
    person.department = world.back
    db.session.commit()
    rows = db.session.execute(select(PersonDepartmentHistory.department_id).where(
        PersonDepartmentHistory.person_id == person.id).order_by(PersonDepartmentHistory.id)).scalars().all()
    assert rows == [world.front.id, world.back.id]
    assert db.session.get(Person, person.id).department_id == world.back.id


def test_granting_through_the_page_without_room_says_the_grant_waits(client, login, world, clock, front):
    from portal.access.services import decide_approval, request_access
    from tests.access_fixtures import EXPLANATION, PURPOSES

    grant_request(world, front[0]), grant_request(world, front[1])
    request = request_access(front[2], world.system, PURPOSES[0], EXPLANATION)
    decide_approval(world.manager, request, True, "業務上必要と確認")
    db.session.commit()
    login(world.owner)
    page = client.get(f"/access/requests/{request.id}").get_data(as_text=True)
    assert "部門の上限 2人: 在籍 6人のうち 2人の権限が有効です。" in page
    token = csrf_token_from(client, f"/access/requests/{request.id}")
    done = client.post(f"/access/requests/{request.id}/grant", data={
        "csrf_token": token, "decision": "grant", "days": "30", "reason": "研修修了を確認"}, follow_redirects=True)
    assert "空き待ちです（前に 0 件）" in done.get_data(as_text=True)
    assert db.session.scalars(select(AccessGrant.state).where(AccessGrant.request_id == request.id)).one() == \
        "waiting_for_room"
