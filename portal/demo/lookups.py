"""Demo look-up requests (照会依頼) in every state, spread over the last weeks so the statistics page
shows something, and one back-office grant holder who can sign in to handle look-ups.

The grant holders of the demo have no password (only DEMO_ACCOUNTS do); HANDLER, a back-office
person whose grant for customer-info is in force, gets the demo password here.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from portal.access.models import ProtectedSystem
from portal.approvals.queries import approver_ids_for
from portal.audit.services import record_event
from portal.auth.passwords import hash_password
from portal.core.timeutil import utcnow
from portal.demo.organisation import DEMO_ACCOUNTS, DEMO_PASSWORD
from portal.extensions import db
from portal.lookups.queries import grant_in_force
from portal.lookups.services import (
    LookupData,
    answer_lookup,
    decide_lookup_approval,
    expire_lookups,
    request_lookup,
    take_lookup,
    withdraw_lookup,
)
from portal.org.models import Department, Person

CODE = "customer-info"
#: The demo's back-office handler (バックヤード部, grant for customer-info in force); README lists the sign-in.
HANDLER = "BA0007"
#: (department, days ago, purpose index, how far it got)
PLAN = (
    ("CUST-FRONT", 12, 0, "answered"), ("CUST-FRONT", 9, 0, "answered"), ("CUST-FRONT", 6, 2, "answered"),
    ("CUST-FRONT", 5, 1, "refused"), ("CUST-FRONT", 3, 0, "in_progress"), ("CUST-FRONT", 2, 2, "awaiting_handler"),
    ("CUST-FRONT", 1, 0, "awaiting_approval"), ("CUST-FRONT", 4, 1, "withdrawn"), ("CUST-FRONT", 20, 0, "expired"),
    ("SALES-PLAN", 8, 2, "answered"), ("SALES-PLAN", 2, 1, "awaiting_approval"),
)
QUESTIONS = (
    "付加サービスの申込みがあったため、このオーダーに対応する光回線の契約有無を確認してください。",
    "オーダー投入前に、この受付番号の光回線が開通済みかどうかを確認してください。",
    "お問い合わせのあった契約について、コラボ事業者の契約か当社直収の契約かを確認してください。",
)
EXPLANATION = "お客様から付加サービスのお申込みを受けており、光回線の契約有無が分からないと受付を進められないため。"


def _people(code: str, exclude: set[int]) -> list[Person]:
    signed_in = {account[0] for account in DEMO_ACCOUNTS}
    return [p for p in db.session.scalars(
        select(Person).join(Department).where(Department.code == code, Person.active.is_(True))
        .order_by(Person.employee_no)) if p.employee_no not in signed_in and p.id not in exclude]


def load_demo_lookups(now: datetime | None = None) -> dict[str, int]:
    """File, approve, take and answer demo look-ups through the real services; {} without the system."""
    now = now or utcnow()
    system = db.session.scalar(select(ProtectedSystem).where(ProtectedSystem.code == CODE))
    if system is None:
        return {}
    handlers = [p for p in _people("BACKYARD", set()) if grant_in_force(p.id, system.id, now)]
    handlers.sort(key=lambda p: (p.employee_no != HANDLER, p.employee_no))
    if handlers and handlers[0].employee_no == HANDLER:
        db.session.execute(update(Person).where(Person.employee_no == HANDLER)
                           .values(password_hash=hash_password(DEMO_PASSWORD)))
    if not handlers:
        return {}
    free = {code: [p for p in _people(code, set()) if not grant_in_force(p.id, system.id, now)]
            for code in ("CUST-FRONT", "SALES-PLAN")}
    made: dict[str, int] = {}
    for index, (code, days, purpose, goal) in enumerate(PLAN):
        if not free[code]:
            continue
        requester = free[code].pop(0)
        asked = now - timedelta(days=days, hours=3)
        lookup = request_lookup(requester, system, LookupData(
            purpose=system.purposes[purpose % len(system.purposes)], explanation=EXPLANATION,
            question=QUESTIONS[index % len(QUESTIONS)], reference=f"ORD-2026-{4100 + index:06d}"), now=asked)
        made[goal] = made.get(goal, 0) + 1
        if goal in ("awaiting_approval", "expired"):
            continue
        if goal == "withdrawn":
            withdraw_lookup(requester, lookup, "お客様が申込みを取り下げたため。", now=asked + timedelta(hours=1))
            continue
        manager = db.session.get(Person, min(_approvers(requester)))
        approve = goal != "refused"
        reason = "利用目的が明確で、業務上必要と確認した。" if approve else "お客様への確認で足りるため照会は不要。"
        decide_lookup_approval(manager, lookup, approve, reason, now=asked + timedelta(hours=2))
        if goal in ("refused", "awaiting_handler"):
            continue
        # HANDLER answers; another grant holder has one in progress (HANDLER does not see it: taken by them).
        handler = handlers[1] if goal == "in_progress" and len(handlers) > 1 else handlers[0]
        taken = max(asked + timedelta(hours=3), now - timedelta(hours=6))
        take_lookup(handler, lookup, now=taken)
        if goal == "answered":
            answer_lookup(handler, lookup, "顧客情報管理システムの契約一覧（光回線）を受付番号で確認した。",
                          "光回線の契約あり（1回線、開通済み）。付加サービスの受付を進めてよい。",
                          now=taken + timedelta(minutes=20))
    expire_lookups(now)
    record_event(None, "lookup.demo_loaded", object_type="protected_system", object_id=CODE,
                 details={"lookups": made, "handler": handlers[0].employee_no})
    return made


def _approvers(person: Person) -> set[int]:
    return approver_ids_for(person)
