"""Recipients acknowledge; issuers follow progress per department and agency, and remind."""
from __future__ import annotations

import email
import email.policy
from pathlib import Path

from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.instructions.models import InstructionAcknowledgement, InstructionReminder
from tests.conftest import csrf_token_from, https_client, sign_in
from tests.instructions_fixtures import english, issue_directly, post_action


def _acknowledgements(instruction_id: int) -> dict[int, object]:
    db.session.expire_all()
    return dict(db.session.execute(
        select(InstructionAcknowledgement.person_id, InstructionAcknowledgement.client)
        .where(InstructionAcknowledgement.instruction_id == instruction_id)).all())


def test_two_recipients_acknowledge_and_the_issuer_sees_who_has_and_has_not(app, client, instructions_org, login):
    instruction = issue_directly(instructions_org.manager, departments=("CUST", "AGENCY"))
    for person in (instructions_org.cust_staff[0], instructions_org.agency_staff[1]):
        browser = https_client(app)
        assert sign_in(browser, person).status_code == 302
        home = browser.get("/").get_data(as_text=True)
        assert "電話勧奨の停止" in home  # pending on their home page
        url = f"/instructions/{instruction.id}"
        response = post_action(browser, f"{url}/acknowledge", url)
        assert response.status_code == 302
        assert "電話勧奨の停止" not in browser.get("/").get_data(as_text=True)  # no longer pending
    acknowledged = _acknowledgements(instruction.id)
    assert set(acknowledged) == {instructions_org.cust_staff[0].id, instructions_org.agency_staff[1].id}
    assert all(client_info.startswith("127.0.0.1") for client_info in acknowledged.values())
    events = db.session.scalars(select(AuditEvent.actor_label).where(
        AuditEvent.action == "instruction.acknowledged")).all()
    assert sorted(events) == ["C1", "G2"]

    login(instructions_org.manager)
    english(client)
    page = client.get(f"/instructions/{instruction.id}").get_data(as_text=True)
    # Per department and agency: CUST 1 of 3, AGENCY 1 of 2.
    assert '<td class="num">3</td><td class="num">1</td><td class="num">2</td><td class="num">33</td>' in page
    assert '<td class="num">2</td><td class="num">1</td><td class="num">1</td><td class="num">50</td>' in page
    pending = page.split("Not yet acknowledged (3)", 1)[1].split("Acknowledged (2)", 1)[0]
    done = page.split("Acknowledged (2)", 1)[1]
    assert "佐藤 翔太（C2）" in pending and "鈴木 美咲（C3）" in pending and "田中 蓮（G1）" in pending
    assert "髙橋 優子（C1）" in done and "吉田 葵（G2）" in done and "髙橋 優子" not in pending


def test_acknowledging_twice_records_one_acknowledgement(app, client, instructions_org, login):
    instruction = issue_directly(instructions_org.manager)
    login(instructions_org.cust_staff[0])
    url, page = f"/instructions/{instruction.id}/acknowledge", f"/instructions/{instruction.id}"
    assert post_action(client, url, page).status_code == 302
    token = csrf_token_from(client, page)
    second = client.post(url, data={"csrf_token": token})
    assert second.status_code == 409 and "この是正指示はすでに確認済みです" in second.get_data(as_text=True)
    assert len(_acknowledgements(instruction.id)) == 1
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "instruction.acknowledged")) == 1


def test_someone_not_addressed_gets_404_as_for_a_missing_instruction(app, client, instructions_org, login):
    instruction = issue_directly(instructions_org.manager, departments=("CUST",))
    login(instructions_org.sales_staff[0])
    assert client.get(f"/instructions/{instruction.id}").status_code == 404
    assert client.get("/instructions/999999").status_code == 404
    for path in ("record.pdf", "acknowledgements.csv"):
        assert client.get(f"/instructions/{instruction.id}/{path}").status_code == 404
    token = csrf_token_from(client, "/")
    assert client.post(f"/instructions/{instruction.id}/acknowledge", data={"csrf_token": token}).status_code == 404
    assert "電話勧奨の停止" not in client.get("/instructions/").get_data(as_text=True)


def test_a_manager_of_another_department_gets_404(app, client, instructions_org, login):
    instruction = issue_directly(instructions_org.manager, departments=("CUST",))
    login(instructions_org.sales_manager)
    assert client.get(f"/instructions/{instruction.id}").status_code == 404
    token = csrf_token_from(client, "/")
    assert client.post(f"/instructions/{instruction.id}/remind", data={"csrf_token": token}).status_code == 404


def test_a_recipient_sees_only_their_own_acknowledgement_not_the_list(app, client, instructions_org, login):
    instruction = issue_directly(instructions_org.manager, departments=("CUST", "AGENCY"))
    login(instructions_org.agency_staff[0])
    page = client.get(f"/instructions/{instruction.id}").get_data(as_text=True)
    assert "髙橋 優子" not in page and "吉田 葵" not in page
    assert client.get(f"/instructions/{instruction.id}/acknowledgements.csv").status_code == 403


def test_reminder_writes_mail_to_those_pending_and_records_it(app, client, instructions_org, login):
    instruction = issue_directly(instructions_org.manager, departments=("CUST", "AGENCY"))
    browser = https_client(app)
    sign_in(browser, instructions_org.cust_staff[0])
    post_action(browser, f"/instructions/{instruction.id}/acknowledge", f"/instructions/{instruction.id}")
    login(instructions_org.manager)
    response = post_action(client, f"/instructions/{instruction.id}/remind", f"/instructions/{instruction.id}")
    assert response.status_code == 302
    reminded = set(db.session.scalars(select(InstructionReminder.person_id)))
    assert reminded == {p.id for p in instructions_org.cust_staff[1:] + instructions_org.agency_staff}
    mails = sorted(Path(app.config["PORTAL_MAIL_DIR"]).glob("*.eml"))
    assert len(mails) == 4
    message = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    assert f"第{instruction.id}号" in message["Subject"] and "電話勧奨の停止" in message["Subject"]
    assert f"/instructions/{instruction.id}" in message.get_content()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "instruction.reminded")).one()
    assert event.details["people"] == 4
    page = client.get(f"/instructions/{instruction.id}").get_data(as_text=True)
    assert "山﨑 健一（M1）" in page and "4" in page


def test_a_manager_reminds_only_their_own_departments(app, client, instructions_org, login, make_person):
    instruction = issue_directly(instructions_org.admin, departments=("CUST", "SALES"))
    login(instructions_org.sales_manager)
    page = client.get(f"/instructions/{instruction.id}").get_data(as_text=True)
    assert "営業 1（P1）" in page and "髙橋 優子" not in page  # only SALES people are listed
    post_action(client, f"/instructions/{instruction.id}/remind", f"/instructions/{instruction.id}")
    reminded = set(db.session.scalars(select(InstructionReminder.person_id)))
    assert reminded == {p.id for p in instructions_org.sales_staff}  # not CUST, and not the manager themselves


def test_nothing_to_remind_when_everyone_acknowledged(app, client, instructions_org, login, make_department,
                                                      make_person):
    solo = make_department("SOLO")
    boss = make_person("M5", roles=("manager",), department=solo, manages=[solo])
    worker = make_person("W5", department=solo)
    instruction = issue_directly(boss, departments=("SOLO",))
    browser = https_client(app)
    sign_in(browser, worker)
    post_action(browser, f"/instructions/{instruction.id}/acknowledge", f"/instructions/{instruction.id}")
    login(boss)
    english(client)
    response = post_action(client, f"/instructions/{instruction.id}/remind", f"/instructions/{instruction.id}")
    assert response.status_code == 302
    assert "There is nobody to remind." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(InstructionReminder)) == 0


def test_auditor_reads_everything_but_gets_403_on_every_post(app, client, instructions_org, login):
    instruction = issue_directly(instructions_org.manager, departments=("CUST",))
    login(instructions_org.auditor)
    assert client.get(f"/instructions/{instruction.id}").status_code == 200
    assert client.get(f"/instructions/{instruction.id}/acknowledgements.csv").status_code == 200
    token = csrf_token_from(client, "/")
    for path in (f"/instructions/{instruction.id}/acknowledge", f"/instructions/{instruction.id}/remind",
                 "/instructions/new"):
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 403, path
    assert db.session.scalar(select(func.count()).select_from(InstructionAcknowledgement)) == 0


def test_corrected_instructions_leave_the_home_page(app, client, instructions_org, login):
    original = issue_directly(instructions_org.manager, title="旧い指示")
    issue_directly(instructions_org.manager, title="新しい指示", corrects_id=original.id)
    login(instructions_org.cust_staff[1])
    home = client.get("/").get_data(as_text=True)
    assert "新しい指示" in home and "旧い指示" not in home


def test_reminders_follow_the_recipient_language(app, client, instructions_org, login):
    instructions_org.cust_staff[0].locale = "en"
    db.session.commit()
    instruction = issue_directly(instructions_org.manager, departments=("CUST",))
    login(instructions_org.manager)
    post_action(client, f"/instructions/{instruction.id}/remind", f"/instructions/{instruction.id}")
    all_subjects = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"]
                    for p in Path(app.config["PORTAL_MAIL_DIR"]).glob("*.eml")]
    assert sum(s.startswith("[Corrective instruction No.") for s in all_subjects) == 1
    assert sum(s.startswith("【是正指示 第") for s in all_subjects) == 2


def test_people_who_left_stay_on_the_record_marked_as_such(app, client, instructions_org, login):
    instruction = issue_directly(instructions_org.manager, departments=("CUST",))
    instructions_org.cust_staff[2].active = False
    db.session.commit()
    login(instructions_org.manager)
    english(client)
    page = client.get(f"/instructions/{instruction.id}").get_data(as_text=True)
    assert "鈴木 美咲（C3）" in page and "(no longer active)" in page
    post_action(client, f"/instructions/{instruction.id}/remind", f"/instructions/{instruction.id}")
    reminded = set(db.session.scalars(select(InstructionReminder.person_id)))
    staff = instructions_org.cust_staff
    assert staff[2].id not in reminded and reminded == {staff[0].id, staff[1].id}
