"""Checking stored instructions against their content hashes (tampering outside the app)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import undefer

from portal.extensions import db
from portal.instructions import rules
from portal.instructions.models import Instruction, InstructionAttachment


@dataclass(frozen=True)
class ContentProblem:
    """An instruction whose stored content no longer matches what was hashed at issue."""

    instruction_id: int
    reason: str


def content_problems(batch: int = 200) -> Iterator[ContentProblem]:
    """Recompute every instruction's content hash and every attachment's sha256, in batches."""
    last_id = 0
    while True:
        instructions = db.session.scalars(
            select(Instruction).where(Instruction.id > last_id).order_by(Instruction.id).limit(batch)).all()
        if not instructions:
            return
        ids = [i.id for i in instructions]
        attachments: dict[int, list[InstructionAttachment]] = {}
        for item in db.session.scalars(
                select(InstructionAttachment).options(undefer(InstructionAttachment.data))
                .where(InstructionAttachment.instruction_id.in_(ids)).order_by(InstructionAttachment.position)):
            attachments.setdefault(item.instruction_id, []).append(item)
        for instruction in instructions:
            files = attachments.get(instruction.id, [])
            for item in files:
                if hashlib.sha256(item.data).hexdigest() != item.sha256:
                    yield ContentProblem(instruction.id, f"attachment {item.position} ({item.filename}) changed")
            expected = rules.content_hash(
                title=instruction.title, body_md=instruction.body_md, reason=instruction.reason,
                acknowledge_by=instruction.acknowledge_by, recipient_spec=instruction.recipient_spec,
                issuer_employee_no=instruction.issuer.employee_no, corrects_id=instruction.corrects_id,
                attachment_hashes=[item.sha256 for item in files])
            if expected != instruction.content_hash:
                yield ContentProblem(instruction.id, "content does not match its hash")
        last_id = ids[-1]
        db.session.expunge_all()
