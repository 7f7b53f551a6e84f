"""Demo corrective instruction: M2001 stops phone campaigns to partners' subscribers in
お客様フロント部 and 東北販売株式会社, and some recipients have acknowledged it."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.core.timeutil import to_jst, utcnow
from portal.extensions import db
from portal.instructions.models import InstructionRecipient
from portal.instructions.services import IssueData, acknowledge_instruction, issue_instruction
from portal.org.models import Department, Person

DEMO_ISSUER = "M2001"
DEMO_DEPARTMENTS = ("CUST-FRONT", "AGENCY-TOHOKU")
#: Left pending, so the demo employee sees the instruction on their home page.
DEMO_PENDING = ("E1001",)

BODY = """## 指示内容

コラボ事業者の光回線サービスをご利用の契約者に対し、当社の付加サービスの契約者情報を利用した**電話勧奨を直ちに停止**してください。

- 対象：コラボ事業者の契約者への電話勧奨のすべて
- 期間：本指示の発出から、当該コラボ事業者との調整が完了し、改めて指示するまで
- 既に予定している架電リストは使用せず、所属の管理者に返却してください

## 再開の条件

電話勧奨を再開する場合は、コラボ事業者と調整したうえで実施します。再開は改めて是正指示で通知します。

## 問い合わせ

不明な点は、お客様フロント部の管理者（山﨑）に確認してください。
"""
REASON = ("コラボ事業者の契約者に対し、当社付加サービスの契約者情報を利用した電話勧奨が、"
          "当該コラボ事業者と調整しないまま行われていたことが確認されたため（総務省要請事項2への対応）。")


def load_demo_instructions() -> None:
    """Issue the demo instruction and acknowledge it for half of its recipients (skipped if the
    demo organisation is not there, e.g. for `portal demo --people N`)."""
    issuer = db.session.scalar(select(Person).where(Person.employee_no == DEMO_ISSUER))
    codes = set(db.session.scalars(select(Department.code).where(Department.code.in_(DEMO_DEPARTMENTS))))
    if issuer is None or codes != set(DEMO_DEPARTMENTS):
        return
    instruction = issue_instruction(issuer, IssueData(
        title="コラボ事業者の契約者への電話勧奨の即時停止",
        body_md=BODY, reason=REASON,
        acknowledge_by=to_jst(utcnow()).date() + timedelta(days=14),
        department_codes=list(DEMO_DEPARTMENTS)))
    recipients = db.session.scalars(
        select(Person).join(InstructionRecipient, InstructionRecipient.person_id == Person.id)
        .where(InstructionRecipient.instruction_id == instruction.id, Person.employee_no.not_in(DEMO_PENDING))
        .order_by(Person.employee_no)).all()
    for person in recipients[::2]:
        acknowledge_instruction(person, instruction, client="demo")
