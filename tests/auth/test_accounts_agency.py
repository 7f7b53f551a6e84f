"""Sales-agency staff are not in the company's identity provider: an agency employee is invited
after the HR import, sets a password from the mail, signs in, passes the quiz, attests with that
password and acknowledges a corrective instruction like anyone else, seeing only what an employee may."""
from __future__ import annotations

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.instructions.models import InstructionAcknowledgement
from portal.org.models import Person
from portal.training.models import Attestation, QuizAttempt
from tests.accounts_fixtures import NEW_PASSWORD, body_of, link_path, post_form, set_password
from tests.conftest import https_client, sign_in
from tests.instructions_fixtures import issue_directly, post_action
from tests.training_fixtures import Flow, answers_for, assign, make_manual


def test_an_agency_employee_is_invited_signs_in_and_acknowledges_an_instruction(app, instructions_org, mailbox):
    newcomer = Person(employee_no="G9", name="菅野 陸", name_kana="かんの りく", email="riku@tohoku-hanbai.example",
                      department=instructions_org.agency, password_hash="")
    db.session.add(newcomer)
    db.session.commit()
    instruction = issue_directly(instructions_org.manager, departments=("AGENCY",),
                                 title="電話勧奨の停止（販売委託先）")

    admin = https_client(app)
    assert sign_in(admin, instructions_org.admin).status_code == 302
    sent = post_form(admin, "/accounts/invitations", {"department": str(instructions_org.agency.id)},
                     page=f"/accounts/invitations?department={instructions_org.agency.id}")
    assert "1 人に招待を送りました" in sent.get_data(as_text=True)  # the staff who have passwords are left out
    [message] = mailbox.to("riku@tohoku-hanbai.example")
    assert "社員番号: G9" in body_of(message)

    browser = https_client(app)
    assert set_password(browser, link_path(message)).status_code == 302
    home = browser.get("/").get_data(as_text=True)
    assert "菅野 陸" in home and "電話勧奨の停止（販売委託先）" in home  # the instruction waits on their home page
    url = f"/instructions/{instruction.id}"
    assert post_action(browser, f"{url}/acknowledge", url).status_code == 302
    assert "電話勧奨の停止（販売委託先）" not in browser.get("/").get_data(as_text=True)

    manual = make_manual()
    assign(newcomer, manual)
    flow = Flow(browser)
    attempt = db.session.get(QuizAttempt, flow.start(manual.slug))
    assert flow.submit(attempt, answers_for(attempt)).status_code == 303
    assert flow.attest(manual.slug, NEW_PASSWORD).status_code == 303
    db.session.expire_all()
    assert db.session.scalars(select(Attestation.person_id)).all() == [newcomer.id]

    acknowledged = db.session.scalars(select(InstructionAcknowledgement.person_id).where(
        InstructionAcknowledgement.instruction_id == instruction.id)).all()
    assert acknowledged == [newcomer.id]
    about = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == "G9")
                               .order_by(AuditEvent.seq)).all()
    assert about[:2] == ["account.invitation_sent", "account.password_set"]
    by = db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == newcomer.id)
                            .order_by(AuditEvent.seq)).all()
    assert by == ["account.password_set", "instruction.acknowledged", "training.attested"]
    # An employee's view: no one else's data, no admin pages.
    assert browser.get("/org/people").status_code == 403
    assert browser.get("/accounts/invitations").status_code == 403
    assert browser.get("/training/").status_code == 200
