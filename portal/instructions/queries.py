"""Set-based reads for the instruction pages: who may see what, the register, one record.

Each page uses a fixed few queries whatever the number of recipients.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import abort
from sqlalchemy import and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import aliased

from portal.core.i18n import in_language
from portal.core.timeutil import JST, to_jst, utcnow
from portal.extensions import db
from portal.instructions.models import (
    Instruction,
    InstructionAcknowledgement,
    InstructionAttachment,
    InstructionRecipient,
    InstructionReminder,
)
from portal.instructions.rules import may_issue_to
from portal.org.models import Department, Person

#: Roles that read every instruction (and its full acknowledgement list).
READ_ALL_ROLES = ("admin", "auditor", "training_admin")
PAGE_SIZE = 50


def today_jst() -> date:
    """Today's date in Japan (deadlines are JST days)."""
    return to_jst(utcnow()).date()


def _managed_ids(viewer: Person) -> list[int]:
    return [d.id for d in viewer.managed_departments] if viewer.has_role("manager") else []


def visible_clause(viewer: Person):
    """SQL condition on Instruction: its issuer, recipients, managers of recipient departments
    and the read-all roles see it; nobody else."""
    if viewer.has_role(*READ_ALL_ROLES):
        return true()
    conditions = [
        Instruction.issuer_id == viewer.id,
        exists().where(InstructionRecipient.instruction_id == Instruction.id,
                       InstructionRecipient.person_id == viewer.id),
    ]
    managed = _managed_ids(viewer)
    if managed:
        conditions.append(exists().where(InstructionRecipient.instruction_id == Instruction.id,
                                         InstructionRecipient.department_id.in_(managed)))
    return or_(*conditions)


def load_visible_instruction(viewer: Person, instruction_id: int) -> Instruction:
    """The instruction, or 404 when it does not exist or the viewer may not see it (the same answer)."""
    instruction = db.session.scalar(
        select(Instruction).where(Instruction.id == instruction_id, visible_clause(viewer)))
    if instruction is None:
        abort(404)
    return instruction


def oversight_scope(viewer: Person, instruction: Instruction) -> frozenset[int] | None:
    """Whose acknowledgements the viewer follows: None = everyone; a set = those departments
    (a manager's own); empty = nobody but themselves."""
    if viewer.has_role(*READ_ALL_ROLES) or instruction.issuer_id == viewer.id:
        return None
    return frozenset(_managed_ids(viewer))


@dataclass(frozen=True)
class RegisterFilters:
    """The register's search: a word, an issue date range (JST days), a department, a status."""

    text: str = ""
    issued_from: date | None = None
    issued_to: date | None = None
    department_id: int | None = None
    status: str = ""

    def as_dict(self) -> dict:
        """For the audit event of an export."""
        return {"text": self.text, "issued_from": self.issued_from.isoformat() if self.issued_from else "",
                "issued_to": self.issued_to.isoformat() if self.issued_to else "",
                "department_id": self.department_id or "", "status": self.status}


def _internal_first():
    """Order key: the company's own departments before sales agencies."""
    return case((Department.kind == "internal", 0), else_=1)


def _jst_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=JST)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _register_select(viewer: Person, filters: RegisterFilters):
    recipients = (select(func.count()).where(InstructionRecipient.instruction_id == Instruction.id)
                  .correlate(Instruction).scalar_subquery())
    acknowledged = (select(func.count()).where(InstructionAcknowledgement.instruction_id == Instruction.id)
                    .correlate(Instruction).scalar_subquery())
    correction = aliased(Instruction)
    corrected_by = (select(correction.id).where(correction.corrects_id == Instruction.id)
                    .correlate(Instruction).scalar_subquery())
    query = (select(Instruction, recipients.label("recipients"), acknowledged.label("acknowledged"),
                    corrected_by.label("corrected_by"))
             .where(visible_clause(viewer)))
    if filters.text:
        pattern = _like(filters.text)
        query = query.where(or_(Instruction.title.ilike(pattern, escape="\\"),
                                Instruction.body_md.ilike(pattern, escape="\\"),
                                Instruction.reason.ilike(pattern, escape="\\")))
    if filters.issued_from:
        query = query.where(Instruction.issued_at >= _jst_midnight_utc(filters.issued_from))
    if filters.issued_to:
        query = query.where(Instruction.issued_at < _jst_midnight_utc(filters.issued_to + timedelta(days=1)))
    if filters.department_id:
        query = query.where(exists().where(InstructionRecipient.instruction_id == Instruction.id,
                                           InstructionRecipient.department_id == filters.department_id))
    today = today_jst()
    complete = and_(recipients > 0, acknowledged >= recipients)
    status_clause = {
        "complete": complete,
        "corrected": and_(~complete, corrected_by.is_not(None)),
        "overdue": and_(~complete, corrected_by.is_(None), Instruction.acknowledge_by < today),
        "open": and_(~complete, corrected_by.is_(None), Instruction.acknowledge_by >= today),
    }.get(filters.status)
    if filters.status and status_clause is None:
        status_clause = false()
    if status_clause is not None:
        query = query.where(status_clause)
    return query.order_by(Instruction.issued_at.desc(), Instruction.id.desc())


def register_page(viewer: Person, filters: RegisterFilters, page: int = 1) -> tuple[list, int]:
    """One page of the register (newest first) and the number of matches."""
    query = _register_select(viewer, filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)).all()
    return rows, total or 0


def register_export_rows(viewer: Person, filters: RegisterFilters, limit: int | None = None) -> list:
    """The matching rows for an export, newest first (all of them, or at most `limit`)."""
    query = _register_select(viewer, filters)
    return db.session.execute(query.limit(limit) if limit else query).all()


def recipient_rows(instruction: Instruction, scope: frozenset[int] | None, viewer: Person,
                   locale: str = "ja") -> list[dict]:
    """Recipients in scope with their department then and their acknowledgement (one query)."""
    query = (
        select(Person.id, Person.employee_no, Person.name, Person.name_kana, Person.active,
               Department.id.label("department_id"), Department.code.label("department_code"),
               Department.name_ja, Department.name_en, Department.kind.label("department_kind"),
               InstructionAcknowledgement.acknowledged_at)
        .select_from(InstructionRecipient)
        .join(Person, Person.id == InstructionRecipient.person_id)
        .join(Department, Department.id == InstructionRecipient.department_id)
        .outerjoin(InstructionAcknowledgement, and_(
            InstructionAcknowledgement.instruction_id == InstructionRecipient.instruction_id,
            InstructionAcknowledgement.person_id == InstructionRecipient.person_id))
        .where(InstructionRecipient.instruction_id == instruction.id)
        .order_by(_internal_first(), Department.code, Person.name_kana, Person.employee_no)
    )
    if scope is not None:
        query = query.where(or_(InstructionRecipient.department_id.in_(scope), Person.id == viewer.id))
    rows = []
    for row in db.session.execute(query):
        item = row._asdict()
        item["department_name"] = in_language(locale, row.name_ja, row.name_en)
        rows.append(item)
    return rows


def instruction_facts(instruction: Instruction) -> dict:
    """Counts, corrections, attachments and reminders of one instruction (a fixed few queries)."""
    counts = db.session.execute(select(
        select(func.count()).where(InstructionRecipient.instruction_id == instruction.id).scalar_subquery(),
        select(func.count()).where(InstructionAcknowledgement.instruction_id == instruction.id).scalar_subquery(),
    )).one()
    corrected_by = db.session.execute(
        select(Instruction.id, Instruction.title).where(Instruction.corrects_id == instruction.id)).first()
    corrects = db.session.execute(
        select(Instruction.id, Instruction.title).where(Instruction.id == instruction.corrects_id)
    ).first() if instruction.corrects_id else None
    attachments = db.session.execute(
        select(InstructionAttachment.id, InstructionAttachment.filename, InstructionAttachment.content_type,
               InstructionAttachment.size_bytes, InstructionAttachment.sha256)
        .where(InstructionAttachment.instruction_id == instruction.id)
        .order_by(InstructionAttachment.position)).all()
    spec = instruction.recipient_spec
    departments = db.session.scalars(
        select(Department).where(Department.code.in_(spec.get("departments", [])))
        .order_by(_internal_first(), Department.code)).all()
    named = db.session.execute(
        select(Person.employee_no, Person.name).where(Person.employee_no.in_(spec.get("people", [])))
        .order_by(Person.name_kana, Person.employee_no)).all()
    reminders = db.session.execute(
        select(InstructionReminder.reminded_at, Person.name, Person.employee_no,
               func.count().label("people"))
        .join(Person, Person.id == InstructionReminder.reminded_by_id)
        .where(InstructionReminder.instruction_id == instruction.id)
        .group_by(InstructionReminder.reminded_at, Person.name, Person.employee_no)
        .order_by(InstructionReminder.reminded_at.desc())).all()
    return {"recipients": counts[0], "acknowledged": counts[1], "corrected_by": corrected_by,
            "corrects": corrects, "attachments": attachments, "departments": departments,
            "named_people": named, "reminders": reminders}


def own_acknowledgement(instruction: Instruction, person: Person) -> tuple[bool, datetime | None]:
    """(is a recipient, when they acknowledged or None) for one person."""
    row = db.session.execute(
        select(InstructionRecipient.person_id, InstructionAcknowledgement.acknowledged_at)
        .outerjoin(InstructionAcknowledgement, and_(
            InstructionAcknowledgement.instruction_id == InstructionRecipient.instruction_id,
            InstructionAcknowledgement.person_id == InstructionRecipient.person_id))
        .where(InstructionRecipient.instruction_id == instruction.id,
               InstructionRecipient.person_id == person.id)).first()
    return (row is not None, row.acknowledged_at if row else None)


def pending_for(person: Person) -> list:
    """Instructions the person must still acknowledge (not corrected), earliest deadline first."""
    correction = aliased(Instruction)
    return db.session.execute(
        select(Instruction.id, Instruction.title, Instruction.acknowledge_by, Instruction.issued_at,
               Person.name.label("issuer_name"), Person.employee_no.label("issuer_no"))
        .join(InstructionRecipient, InstructionRecipient.instruction_id == Instruction.id)
        .join(Person, Person.id == Instruction.issuer_id)
        .where(InstructionRecipient.person_id == person.id,
               ~exists().where(InstructionAcknowledgement.instruction_id == Instruction.id,
                               InstructionAcknowledgement.person_id == person.id),
               ~exists().where(correction.corrects_id == Instruction.id))
        .order_by(Instruction.acknowledge_by, Instruction.id)).all()


def all_departments() -> list[Department]:
    """Every department and agency, internal first (the register's filter)."""
    return list(db.session.scalars(select(Department).order_by(_internal_first(), Department.code)))


def issuable_departments(actor: Person) -> list[Department]:
    """Departments the actor may address: all for admins; managed ones and (for internal
    managers) sales agencies."""
    managed = frozenset(d.id for d in actor.managed_departments)
    return [d for d in all_departments()
            if may_issue_to(actor.roles, managed, actor.department.kind, d.id, d.kind)]
