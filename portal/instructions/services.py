"""Issuing, acknowledging and reminding corrective instructions.

State changes only: each takes the acting person, flushes (never commits) and writes its
audit event in the same transaction. Input problems raise one Refusal (portal.core.refusals) naming
each form field with its message, and nothing is written.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, exists, func, insert, literal, or_, select

from portal.audit.services import record_event
from portal.core.exports import clean_filename
from portal.core.mail import OutgoingMail, render_person_mail
from portal.core.refusals import Refusal
from portal.core.timeutil import to_jst, utcnow
from portal.core.workflow import Meanwhile, StepLost, insert_once
from portal.extensions import db
from portal.instructions import rules
from portal.instructions.models import (
    Instruction,
    InstructionAcknowledgement,
    InstructionAttachment,
    InstructionRecipient,
    InstructionReminder,
)
from portal.manuals.rendering import render_markdown
from portal.org.models import Department, Person, PersonRole


@dataclass
class IssueData:
    """What the issuer entered, as plain data (the view builds it from the form)."""

    title: str
    body_md: str
    reason: str
    acknowledge_by: date | None
    department_codes: list[str] = field(default_factory=list)
    employee_numbers: list[str] = field(default_factory=list)
    #: (original file name, bytes, size in bytes) in the order attached; the bytes may stop just past
    #: the size limit when the upload is larger (the size says how large it really is).
    attachments: list[tuple[str, bytes, int]] = field(default_factory=list)
    corrects_id: int | None = None


class NotARecipient(Refusal):
    """Only the people an instruction was addressed to can acknowledge it."""

    CODE = "not_a_recipient"


class NothingToRemind(Refusal):
    """Everyone in the reminder's scope has acknowledged (or the instruction was corrected)."""

    CODE = "nothing_to_remind"


_DEADLINE_MESSAGES = {
    "missing": _l("Enter the date by which recipients must acknowledge."),
    "past": _l("The deadline is in the past: choose today or a later date."),
    "too_far": _l("The deadline must be within a year from today."),
}


def _is_auditor():
    return exists().where(PersonRole.person_id == Person.id, PersonRole.role == "auditor")


def _check_text(data: IssueData, errors: dict) -> None:
    for name, value, limit, missing in (
        ("title", data.title, rules.TITLE_MAX, _l("Enter a title.")),
        ("body", data.body_md, rules.BODY_MAX, _l("Enter the instruction itself.")),
        ("reason", data.reason, rules.REASON_MAX, _l("Enter the reason or incident this instruction answers.")),
    ):
        if not value.strip():
            errors.setdefault(name, []).append(missing)
        elif len(value) > limit:
            errors.setdefault(name, []).append(_l("At most %(max)d characters.", max=limit))


def _attachment_message(problem: rules.AttachmentProblem):
    name = problem.filename
    if problem.code == "empty":
        return _l("「%(name)s」 is empty.", name=name)
    if problem.code == "too_large":
        return _l("「%(name)s」 is %(size)s MB: each file may be at most 5 MB.",
                  name=name, size=problem.params["size_mb"])
    if problem.code == "ending":
        return _l("「%(name)s」 cannot be attached: only PDF, PNG, JPEG, GIF or WebP files are accepted.", name=name)
    return _l("「%(name)s」 cannot be attached: its content is not the PDF or image its name says.", name=name)


def _check_attachments(data: IssueData, errors: dict) -> list[tuple[str, str, bytes]]:
    """[(display name, detected type, bytes)] when every file is acceptable."""
    if len(data.attachments) > rules.ATTACHMENT_MAX_COUNT:
        errors.setdefault("attachments", []).append(
            _l("Attach at most %(max)d files.", max=rules.ATTACHMENT_MAX_COUNT))
        return []
    accepted = []
    for original, content, size in data.attachments:
        name = clean_filename(original, default="attachment")
        detected, problem = rules.check_attachment(name, content, size)
        if problem is not None:
            errors.setdefault("attachments", []).append(_attachment_message(problem))
            continue
        accepted.append((name, detected, content))
    return accepted


def _resolve_recipients(actor: Person, data: IssueData, errors: dict) -> tuple[list[Department], list]:
    """The chosen departments and named people, checked against what the actor may address."""
    codes, numbers = data.department_codes, data.employee_numbers
    if not codes and not numbers:
        errors.setdefault("departments", []).append(
            _l("Choose at least one department or sales agency, or name at least one person."))
        return [], []
    managed = frozenset(d.id for d in actor.managed_departments)
    own_kind = actor.department.kind

    def allowed(department_id: int, kind: str) -> bool:
        return rules.may_issue_to(actor.roles, managed, own_kind, department_id, kind)

    departments = db.session.scalars(select(Department).where(Department.code.in_(codes))).all() if codes else []
    unknown = sorted(set(codes) - {d.code for d in departments})
    if unknown:
        errors.setdefault("departments", []).append(_l("Unknown department: %(codes)s", codes=", ".join(unknown)))
    refused = [d.name_ja for d in departments if not allowed(d.id, d.kind)]
    if refused:
        errors.setdefault("departments", []).append(_l(
            "You may not address %(names)s: managers address the departments they manage and sales agencies.",
            names="、".join(refused)))
    people = db.session.execute(
        select(Person.id, Person.employee_no, Person.name, Person.department_id, Department.kind,
               _is_auditor().label("is_auditor"))
        .join(Department, Department.id == Person.department_id)
        .where(Person.employee_no.in_(numbers), Person.active)
    ).all() if numbers else []
    missing = [n for n in numbers if n not in {p.employee_no for p in people}]
    if missing:
        errors.setdefault("people", []).append(
            _l("No active person has the employee number %(numbers)s.", numbers=", ".join(missing)))
    outside = [f"{p.name}（{p.employee_no}）" for p in people if not allowed(p.department_id, p.kind)]
    if outside:
        errors.setdefault("people", []).append(_l(
            "You may not address %(people)s: they are not in a department you manage or a sales agency.",
            people="、".join(outside)))
    auditors = [f"{p.name}（{p.employee_no}）" for p in people if p.is_auditor]
    if auditors:
        errors.setdefault("people", []).append(
            _l("%(people)s: auditors read instructions but do not receive them.", people="、".join(auditors)))
    return list(departments), list(people)


def _recipient_select(actor: Person, department_ids: list[int], person_ids: list[int], instruction_id: int = 0):
    """Who receives it: active members of the departments plus the named people, frozen now.
    Not the issuer, and not auditors (they read everything and change nothing, so they could
    never acknowledge)."""
    return select(literal(instruction_id, Integer), Person.id, Person.department_id).where(
        Person.active,
        or_(Person.department_id.in_(department_ids), Person.id.in_(person_ids)),
        Person.id != actor.id,
        ~_is_auditor(),
    )


def _check_correction(actor: Person, corrects_id: int | None, errors: dict) -> None:
    if corrects_id is None:
        return
    original = db.session.get(Instruction, corrects_id)
    if original is None or not (original.issuer_id == actor.id or actor.has_role("admin")):
        errors.setdefault("title", []).append(_l("You may correct only instructions you issued."))
        return
    later = db.session.scalar(select(Instruction.id).where(Instruction.corrects_id == corrects_id))
    if later is not None:
        errors.setdefault("title", []).append(_l(
            "This instruction has already been corrected by No. %(number)s: correct that one instead.",
            number=later))


def issue_instruction(actor: Person, data: IssueData) -> Instruction:
    """Check everything, then write the instruction, its frozen recipients and attachments."""
    errors: dict[str, list] = {}
    _check_text(data, errors)
    today = to_jst(utcnow()).date()
    problem = rules.deadline_problem(data.acknowledge_by, today)
    if problem:
        errors.setdefault("acknowledge_by", []).append(_DEADLINE_MESSAGES[problem])
    departments, people = _resolve_recipients(actor, data, errors)
    attachments = _check_attachments(data, errors)
    _check_correction(actor, data.corrects_id, errors)
    department_ids, person_ids = [d.id for d in departments], [p.id for p in people]
    if (departments or people) and "departments" not in errors and "people" not in errors:
        count = db.session.scalar(select(func.count()).select_from(
            _recipient_select(actor, department_ids, person_ids).subquery()))
        if not count:
            errors.setdefault("departments", []).append(
                _l("Nobody would receive this instruction: the chosen departments have no other active members."))
    if errors:
        raise Refusal.collected(Refusal("input_invalid", name, message=message)
                                for name, messages in errors.items() for message in messages)

    spec = {"departments": sorted(d.code for d in departments), "people": sorted(p.employee_no for p in people)}
    hashes = [hashlib.sha256(content).hexdigest() for _name, _type, content in attachments]
    instruction = Instruction(
        title=data.title.strip(), body_md=data.body_md, body_html=render_markdown(data.body_md).html,
        reason=data.reason.strip(), issuer_id=actor.id, issued_at=utcnow(), acknowledge_by=data.acknowledge_by,
        corrects_id=data.corrects_id, recipient_spec_json=json.dumps(spec, ensure_ascii=False, sort_keys=True),
        content_hash=rules.content_hash(
            title=data.title.strip(), body_md=data.body_md, reason=data.reason.strip(),
            acknowledge_by=data.acknowledge_by, recipient_spec=spec, issuer_employee_no=actor.employee_no,
            corrects_id=data.corrects_id, attachment_hashes=hashes),
    )
    db.session.add(instruction)
    db.session.flush()
    db.session.execute(insert(InstructionRecipient).from_select(
        ["instruction_id", "person_id", "department_id"],
        _recipient_select(actor, department_ids, person_ids, instruction.id)))
    for position, ((name, content_type, content), digest) in enumerate(zip(attachments, hashes), start=1):
        db.session.add(InstructionAttachment(
            instruction_id=instruction.id, position=position, filename=name, content_type=content_type,
            size_bytes=len(content), sha256=digest, data=content))
    db.session.flush()
    recipients = db.session.scalar(select(func.count()).where(InstructionRecipient.instruction_id == instruction.id))
    record_event(
        actor, "instruction.corrected" if data.corrects_id else "instruction.issued",
        object_type="instruction", object_id=instruction.id, reason=instruction.reason,
        details={"title": instruction.title, "acknowledge_by": data.acknowledge_by.isoformat(),
                 "recipients": spec, "recipient_count": recipients, "content_hash": instruction.content_hash,
                 "corrects": data.corrects_id,
                 "attachments": [{"filename": n, "sha256": h} for (n, _t, _c), h in zip(attachments, hashes)]},
    )
    return instruction


#: StepLost subject of an acknowledgement (its state is always "acknowledged").
ACKNOWLEDGEMENT = "instruction_acknowledgement"


def acknowledge_instruction(actor: Person, instruction: Instruction, client: str) -> InstructionAcknowledgement:
    """Record that a recipient read the instruction, once: a second (or a double click) gets StepLost."""
    is_recipient = db.session.scalar(select(exists().where(
        InstructionRecipient.instruction_id == instruction.id, InstructionRecipient.person_id == actor.id)))
    if not is_recipient:
        raise NotARecipient()
    earlier = db.session.scalar(select(InstructionAcknowledgement.acknowledged_at).where(
        InstructionAcknowledgement.instruction_id == instruction.id, InstructionAcknowledgement.person_id == actor.id))
    if earlier is not None:
        raise StepLost(ACKNOWLEDGEMENT, Meanwhile("acknowledged", actor, earlier))
    acknowledgement = insert_once(InstructionAcknowledgement, {
        "instruction_id": instruction.id, "person_id": actor.id, "acknowledged_at": utcnow(), "client": client[:300]},
        ["instruction_id", "person_id"], subject=ACKNOWLEDGEMENT, state="acknowledged",
        witness=lambda row: (actor, row.acknowledged_at))
    record_event(actor, "instruction.acknowledged", object_type="instruction", object_id=instruction.id,
                 details={"client": client[:300]})
    return acknowledgement


def remind_instruction(actor: Person, instruction: Instruction, department_ids: frozenset[int] | None,
                       link: str) -> list[OutgoingMail]:
    """Record a reminder for each pending recipient in scope (None: all); return the mails to
    send once the transaction has committed."""
    corrected = db.session.scalar(select(exists().where(Instruction.corrects_id == instruction.id)))
    if corrected:
        raise NothingToRemind()
    acknowledged = exists().where(InstructionAcknowledgement.instruction_id == instruction.id,
                                  InstructionAcknowledgement.person_id == InstructionRecipient.person_id)
    query = (select(Person.id, Person.employee_no, Person.name, Person.email, Person.locale)
             .join(InstructionRecipient, InstructionRecipient.person_id == Person.id)
             .where(InstructionRecipient.instruction_id == instruction.id, Person.active, ~acknowledged,
                    Person.id != actor.id))
    if department_ids is not None:
        query = query.where(InstructionRecipient.department_id.in_(department_ids))
    pending = db.session.execute(query).all()
    if not pending:
        raise NothingToRemind()
    now = utcnow()
    db.session.execute(insert(InstructionReminder), [
        {"instruction_id": instruction.id, "person_id": p.id, "reminded_by_id": actor.id, "reminded_at": now}
        for p in pending])
    record_event(actor, "instruction.reminded", object_type="instruction", object_id=instruction.id,
                 details={"people": len(pending), "employee_nos": sorted(p.employee_no for p in pending)[:200]})
    return [
        render_person_mail("instructions/mail/reminder", p, instruction=instruction, issuer=instruction.issuer,
                           link=link)
        for p in pending if p.email
    ]


def record_instruction_export(actor: Person, export_format: str, *, instruction_id: int | None = None,
                              criteria: dict | None = None, rows: int = 0) -> None:
    """Exports of the register or of one instruction's record are audited."""
    record_event(actor, "instruction.exported",
                 object_type="instruction" if instruction_id else "instruction_register",
                 object_id=instruction_id or export_format,
                 details={"format": export_format, "filter": criteria or {}, "rows": rows})
