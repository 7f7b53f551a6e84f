"""Fixtures for the look-up tests: the access world plus back-office handlers whose grants are in
force, a back-office manager, an outsider manager, and look-ups moved along through the services."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.access.models import ProtectedSystem
from portal.extensions import db
from portal.lookups.models import LookupRequest
from portal.lookups.services import LookupData, decide_lookup_approval, request_lookup, take_lookup
from portal.org.models import Department, Person
from tests.access_fixtures import PURPOSES, World, grant_for, train

EXPLANATION = "付加サービスの申込みを受けたため、光回線の契約有無を確認してオーダーを投入したい。"
QUESTION = "このオーダーに対応する光回線の契約があるかどうかを確認してください。"
REFERENCE = "ORD-2026-000123"


@dataclass
class LookupWorld:
    """Who plays which part in a look-up."""

    access: World
    system: ProtectedSystem
    requester: Person  # E1, customer front, no grant
    colleague: Person  # E2, customer front, no grant
    manager: Person  # M1, manager of customer front
    handler: Person  # H1, back office, grant in force
    handler2: Person  # H2, back office, grant in force
    back_manager: Person  # MB, manager of the back office (approved the handlers' grants)
    outsider: Person  # MX, manager of another department
    bystander: Person  # B1, back office, no grant
    auditor: Person
    admin: Person
    sales: Department


@pytest.fixture
def lw(world, clock, make_person, make_department) -> LookupWorld:
    """The look-up cast, with H1 and H2 holding grants in force for customer-info."""
    back_manager = make_person("MB", roles=("manager",), department=world.back, manages=[world.back],
                               name="中村 恵")
    handler = make_person("H1", department=world.back, name="中村 結衣")
    handler2 = make_person("H2", department=world.back, name="佐々木 結衣")
    bystander = make_person("B1", department=world.back, name="木村 陽菜")
    sales = make_department("SALES-PLAN", "営業企画部")
    outsider = make_person("MX", roles=("manager",), department=sales, manages=[sales], name="小林 大輔")
    for person in (handler, handler2):
        train(person, world)
        grant_for(world, person, approver=back_manager)
    db.session.commit()
    return LookupWorld(world, world.system, world.employee, world.colleague, world.manager, handler, handler2,
                       back_manager, outsider, bystander, world.auditor, world.admin, sales)


def ask(lw: LookupWorld, person: Person | None = None, **changes) -> LookupRequest:
    """File a look-up (committed)."""
    data = LookupData(purpose=PURPOSES[0], explanation=EXPLANATION, question=QUESTION, reference=REFERENCE)
    for name, value in changes.items():
        setattr(data, name, value)
    lookup = request_lookup(person or lw.requester, lw.system, data)
    db.session.commit()
    return lookup


def approved(lw: LookupWorld, person: Person | None = None) -> LookupRequest:
    """A look-up approved by the requester's manager (committed)."""
    lookup = ask(lw, person)
    decide_lookup_approval(lw.manager, lookup, True, "業務上必要と確認した。")
    db.session.commit()
    return lookup


def taken(lw: LookupWorld, handler: Person | None = None) -> LookupRequest:
    """A look-up approved and taken by H1 (committed)."""
    lookup = approved(lw)
    take_lookup(handler or lw.handler, lookup)
    db.session.commit()
    return lookup
