"""Issuing corrective instructions: the happy path, every refusal, immutability, corrections."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.instructions.models import (
    Instruction,
    InstructionAcknowledgement,
    InstructionAttachment,
    InstructionRecipient,
)
from tests.instructions_fixtures import PDF_BYTES, PNG_BYTES, english, form_data, issue_directly, post_issue, today_jst


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _nothing_saved() -> None:
    db.session.expire_all()
    assert _count(Instruction) == 0
    assert _count(InstructionRecipient) == 0
    assert _count(InstructionAttachment) == 0
    assert db.session.scalar(select(func.count()).where(AuditEvent.action.like("instruction.%"))) == 0


def test_manager_issues_to_their_department_and_an_agency(client, instructions_org, login):
    login(instructions_org.manager)
    response = post_issue(client, form_data(departments=("CUST", "AGENCY"), files=[(PDF_BYTES, "通知書.pdf")]))
    assert response.status_code == 302
    instruction = db.session.scalars(select(Instruction)).one()
    recipients = db.session.execute(
        select(InstructionRecipient.person_id, InstructionRecipient.department_id)
        .where(InstructionRecipient.instruction_id == instruction.id)).all()
    expected = ({(p.id, instructions_org.cust.id) for p in instructions_org.cust_staff}
                | {(p.id, instructions_org.agency.id) for p in instructions_org.agency_staff})
    # Frozen at issue: CUST staff and AGENCY staff; not the issuer, not the auditor who sits in CUST.
    assert set(recipients) == expected
    assert instruction.recipient_spec == {"departments": ["AGENCY", "CUST"], "people": []}
    attachment = db.session.scalars(select(InstructionAttachment)).one()
    assert (attachment.filename, attachment.content_type, attachment.size_bytes) == (
        "通知書.pdf", "application/pdf", len(PDF_BYTES))
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "instruction.issued")).one()
    assert event.actor_label == "M1" and event.object_id == str(instruction.id)
    assert event.details["recipient_count"] == 5 and event.details["content_hash"] == instruction.content_hash
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "コラボ事業者の契約者への電話勧奨の即時停止" in page and "<strong>直ちに停止</strong>" in page


def test_named_people_are_added_to_departments(client, instructions_org, login):
    login(instructions_org.admin)
    response = post_issue(client, form_data(departments=("AGENCY",), people="P1、C3"))
    assert response.status_code == 302
    people = set(db.session.scalars(select(InstructionRecipient.person_id)))
    assert people == ({instructions_org.sales_staff[0].id, instructions_org.cust_staff[2].id}
                      | {p.id for p in instructions_org.agency_staff})


@pytest.mark.parametrize("change, field_id, message", [
    ({"departments": [], "people": ""}, "departments",
     "Choose at least one department or sales agency, or name at least one person."),
    ({"acknowledge_by-year": "2020"}, "acknowledge_by", "The deadline is in the past: choose today or a later date."),
    ({"acknowledge_by-year": "", "acknowledge_by-month": "", "acknowledge_by-day": ""}, "acknowledge_by",
     "Enter the date by which recipients must acknowledge."),
    ({"acknowledge_by-month": "2", "acknowledge_by-day": "31"}, "acknowledge_by", "Enter a real date"),
    ({"title": "   "}, "title", "Enter a title."),
    ({"body": ""}, "body", "Enter the instruction itself."),
    ({"reason": ""}, "reason", "Enter the reason or incident this instruction answers."),
    ({"people": "NOBODY"}, "people", "No active person has the employee number NOBODY."),
])
def test_bad_input_is_refused_on_the_form_and_nothing_is_saved(client, instructions_org, login, change, field_id,
                                                               message):
    login(instructions_org.manager)
    english(client)
    data = form_data(departments=("CUST",))
    data.update(change)
    response = post_issue(client, data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem with what you entered" in body
    assert f'href="#{field_id}"' in body  # the error summary links to the field
    assert message in body
    _nothing_saved()


def test_errors_are_in_japanese_by_default(client, instructions_org, login):
    login(instructions_org.manager)
    data = form_data(**{"acknowledge_by-year": "2020"})
    data["departments"] = []
    body = post_issue(client, data).get_data(as_text=True)
    assert "入力内容に問題があります" in body
    assert "There is a problem" not in body and "The deadline is in the past" not in body
    _nothing_saved()


@pytest.mark.parametrize("files, expected", [
    ([(b"<html><script>alert(1)</script></html>", "notice.pdf")], "its content is not the PDF or image"),
    ([(PNG_BYTES, "scan.pdf")], "its content is not the PDF or image"),
    ([(b"<svg onload='alert(1)'/>", "drawing.svg")], "only PDF, PNG, JPEG, GIF or WebP"),
    ([(b"%PDF-" + b"0" * (5 * 1024 * 1024), "big.pdf")], "「big.pdf」 is 5.0 MB: each file may be at most 5 MB"),
    ([(b"%PDF-" + b"0" * (12 * 1024 * 1024), "huge.pdf")], "「huge.pdf」 is 12.0 MB"),  # its real size
    ([(PDF_BYTES, f"f{n}.pdf") for n in range(6)], "Attach at most 5 files."),
])
def test_wrong_attachments_are_refused_and_nothing_is_saved(client, instructions_org, login, files, expected):
    login(instructions_org.manager)
    english(client)
    response = post_issue(client, form_data(files=files))
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)
    _nothing_saved()


def test_a_manager_cannot_address_a_department_they_do_not_manage(client, instructions_org, login):
    login(instructions_org.manager)
    response = post_issue(client, form_data(departments=("SALES",)))
    assert response.status_code == 400
    assert "営業企画部" in response.get_data(as_text=True)
    response = post_issue(client, form_data(departments=(), people="P1"))
    assert response.status_code == 400 and "営業 1（P1）" in response.get_data(as_text=True)
    _nothing_saved()


def test_the_form_offers_only_what_the_manager_may_address(client, instructions_org, login):
    login(instructions_org.manager)
    page = client.get("/instructions/new").get_data(as_text=True)
    assert 'value="CUST"' in page and 'value="AGENCY"' in page and 'value="SALES"' not in page


def test_an_auditor_cannot_be_named_as_a_recipient(client, instructions_org, login):
    login(instructions_org.manager)
    response = post_issue(client, form_data(departments=(), people="A1"))
    assert response.status_code == 400
    _nothing_saved()


def test_a_department_with_nobody_else_in_it_is_refused(client, instructions_org, login, make_department, make_person):
    empty = make_department("EMPTY", name_ja="空の部")
    boss = make_person("M9", roles=("manager",), department=empty, manages=[empty])
    login(boss)
    english(client)
    response = post_issue(client, form_data(departments=("EMPTY",)))
    assert response.status_code == 400 and "Nobody would receive this instruction" in response.get_data(as_text=True)
    _nothing_saved()


def test_issued_rows_cannot_be_changed_or_deleted_in_the_database(app, instructions_org):
    instruction = issue_directly(instructions_org.manager)
    statements = [
        f"UPDATE instructions SET title = 'edited' WHERE id = {instruction.id}",
        f"UPDATE instructions SET acknowledge_by = acknowledge_by WHERE id = {instruction.id}",
        f"DELETE FROM instructions WHERE id = {instruction.id}",
        "UPDATE instruction_recipients SET department_id = department_id",
        "DELETE FROM instruction_recipients",
    ]
    for statement in statements:
        with pytest.raises(Exception, match="immutable"):
            db.session.execute(text(statement))
        db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Instruction, instruction.id).title == "電話勧奨の停止"


def test_only_a_recipient_can_have_an_acknowledgement_row(app, instructions_org):
    instruction = issue_directly(instructions_org.manager)
    db.session.add(InstructionAcknowledgement(instruction_id=instruction.id,
                                              person_id=instructions_org.sales_staff[0].id))
    with pytest.raises(Exception):
        db.session.commit()
    db.session.rollback()


def test_a_correction_is_a_new_instruction_and_the_old_one_says_so(client, instructions_org, login):
    original = issue_directly(instructions_org.manager, title="旧い指示")
    login(instructions_org.manager)
    form = client.get(f"/instructions/new?corrects={original.id}").get_data(as_text=True)
    assert "旧い指示" in form and f'value="{original.id}"' in form  # prefilled, with the link to the old one
    data = form_data(title="訂正後の指示", corrects=str(original.id))
    response = post_issue(client, data, query=f"?corrects={original.id}")
    assert response.status_code == 302
    correction = db.session.scalars(select(Instruction).where(Instruction.corrects_id == original.id)).one()
    old_page = client.get(f"/instructions/{original.id}").get_data(as_text=True)
    assert "instruction-corrected" in old_page  # the prominent notice
    assert f"/instructions/{correction.id}" in old_page and "訂正後の指示" in old_page
    assert f"/instructions/{original.id}" in client.get(f"/instructions/{correction.id}").get_data(as_text=True)
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(correction.id))).all() == [
        "instruction.corrected"]
    # A second correction of the same instruction is refused: correct the correction instead.
    again = post_issue(client, form_data(title="二度目", corrects=str(original.id)), query=f"?corrects={original.id}")
    assert again.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Instruction)) == 2


def test_only_the_issuer_or_an_admin_may_correct(app, client, instructions_org, login):
    from tests.instructions_fixtures import client_for

    by_admin = issue_directly(instructions_org.admin, departments=("CUST",))
    by_manager = issue_directly(instructions_org.manager, departments=("AGENCY",))
    login(instructions_org.manager)  # manages CUST: reads the admin's instruction, but did not issue it
    assert client.get(f"/instructions/{by_admin.id}").status_code == 200
    assert client.get(f"/instructions/new?corrects={by_admin.id}").status_code == 403
    assert post_issue(client, form_data(corrects=str(by_admin.id)), query=f"?corrects={by_admin.id}").status_code == 403
    other = client_for(app, instructions_org.sales_manager)  # cannot even see the AGENCY instruction
    assert other.get(f"/instructions/new?corrects={by_manager.id}").status_code == 404
    admin = client_for(app, instructions_org.admin)
    assert admin.get(f"/instructions/new?corrects={by_manager.id}").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Instruction)) == 2


def test_deadline_today_is_accepted(client, instructions_org, login):
    login(instructions_org.manager)
    assert post_issue(client, form_data(deadline=today_jst())).status_code == 302
    assert post_issue(client, form_data(deadline=today_jst() + timedelta(days=400))).status_code == 400


def test_verify_command_finds_an_instruction_changed_behind_the_apps_back(app, instructions_org):
    instruction = issue_directly(instructions_org.manager, attachments=[("a.pdf", PDF_BYTES)])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["instructions", "verify"])
    assert result.exit_code == 0 and "1 instructions verified" in result.output
    # A database administrator bypasses the trigger and edits the text.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE instructions DISABLE TRIGGER instructions_immutable"))
    else:
        db.session.execute(text("DROP TRIGGER instructions_no_update"))
    db.session.execute(text("UPDATE instructions SET body_md = 'edited' WHERE id = :i"), {"i": instruction.id})
    db.session.commit()
    result = runner.invoke(args=["instructions", "verify"])
    assert result.exit_code == 1
    assert f"instruction {instruction.id}: content does not match its hash" in result.output
