"""Fixtures for the access tests: a small organisation, manuals built directly from the models,
training progress, a movable clock, and grants made through the real services."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from sqlalchemy import select

from portal.access.models import ProtectedSystem
from portal.access.services import GrantDecision, decide_approval, decide_grant, request_access
from portal.access.systems import SystemData, create_api_token, save_system
from portal.extensions import db
from portal.manuals.models import Manual, ManualEdition, TrainingAssignment
from portal.org.models import Department, Person
from portal.training.models import TrainingProgress
from tests.clock import START

PURPOSES = ["光回線契約有無の確認（付加サービス申込対応）", "オーダー投入", "お客様からの問い合わせ対応"]
EXPLANATION = "付加サービスの申込みを受けた際に、光回線の契約有無を確認するため。"


@dataclass
class World:
    """The people, manuals and system most access tests need."""

    front: Department
    back: Department
    employee: Person
    colleague: Person
    manager: Person
    owner: Person
    owner2: Person
    auditor: Person
    admin: Person
    manual: Manual
    manual2: Manual
    system: ProtectedSystem


def add_edition(manual: Manual, number: int, *, kind: str = "material", effective: date = date(2026, 3, 1),
                days_allowed: int = 30, validity_months: int | None = None,
                published_at: datetime = START) -> ManualEdition:
    """A published edition built straight from the model (the manuals feature is tested elsewhere)."""
    text = f"# {manual.slug} {number}"
    edition = ManualEdition(
        manual_id=manual.id, number=number, change_kind=kind, change_summary_ja="", change_summary_en="",
        effective_date=effective, published_at=published_at, source_text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(), html=f"<h1>{manual.slug}</h1>",
        days_allowed=days_allowed, validity_months=validity_months, audience_json='{"everyone": true}')
    db.session.add(edition)
    db.session.flush()
    return edition


def assign(person: Person, manual: Manual, due: date, edition: ManualEdition | None = None) -> None:
    """The person must train on the manual by `due` (what the manuals feature keeps up to date)."""
    edition = edition or manual.editions[-1]
    row = db.session.get(TrainingAssignment, (person.id, manual.id))
    if row is None:
        db.session.add(TrainingAssignment(person_id=person.id, manual_id=manual.id, since_edition_id=edition.id,
                                          due_date=due, assigned_at=START))
    else:
        row.due_date, row.since_edition_id = due, edition.id
    db.session.flush()


def attest(person: Person, manual: Manual, number: int | None = None, at: datetime = START) -> None:
    """Record that the person attested an edition (what the training feature writes after a pass)."""
    edition = next(e for e in manual.editions if e.number == (number or manual.editions[-1].number))
    row = db.session.get(TrainingProgress, (person.id, manual.id))
    if row is None:
        row = TrainingProgress(person_id=person.id, manual_id=manual.id)
        db.session.add(row)
    row.attested_edition_id, row.attested_edition_number, row.attested_at = edition.id, edition.number, at
    row.started_edition_number, row.updated_at = edition.number, at
    db.session.flush()


def train(person: Person, world: "World", at: datetime = START, due: date = date(2026, 4, 30)) -> None:
    """Assign and attest every manual the system requires."""
    for manual in (world.manual, world.manual2):
        assign(person, manual, due)
        attest(person, manual, at=at)


@pytest.fixture
def world(app, make_department, make_person) -> World:
    """Customer front (employee, colleague, manager), back office (grant owners), an auditor and an admin;
    two manuals with one material edition each; the customer-info system requiring both."""
    front = make_department("CUST-FRONT", "お客様フロント部")
    back = make_department("BACKYARD", "バックヤード部")
    manager = make_person("M1", roles=("manager",), department=front, manages=[front], name="山﨑 健一")
    employee = make_person("E1", department=front, name="髙橋 優子")
    colleague = make_person("E2", department=front, name="佐藤 花子")
    owner = make_person("G1", roles=("grant_owner",), department=back, name="𠮷田 誠")
    owner2 = make_person("G2", roles=("grant_owner",), department=back, name="鈴木 一郎")
    auditor = make_person("A1", roles=("auditor",), department=back, name="伊藤 直樹")
    admin = make_person("S1", roles=("admin",), department=back, name="渡辺 聡")
    manuals = []
    for slug, title in (("partner-data", "コラボ事業者の契約者情報の取扱い"),
                        ("purpose-approval", "利用目的の明確化と承認")):
        manual = Manual(slug=slug, title_ja=title, title_en=slug)
        db.session.add(manual)
        db.session.flush()
        add_edition(manual, 1)
        manuals.append(manual)
    db.session.commit()
    system = save_system(admin, SystemData(
        code="customer-info", name_ja="顧客情報管理システム", name_en="Customer information system",
        purposes=PURPOSES, manual_slugs=["partner-data", "purpose-approval"], grant_owner_nos=["G1", "G2"],
        max_grant_days=180, request_expiry_days=14))
    db.session.commit()
    return World(front, back, employee, colleague, manager, owner, owner2, auditor, admin, manuals[0], manuals[1],
                 system)


def grant_for(world: World, person: Person, *, now: datetime = START, days: int = 90, approver: Person | None = None,
              owner: Person | None = None):
    """Request → approve → grant through the services (training must be current); commits."""
    request = request_access(person, world.system, PURPOSES[0], EXPLANATION, now=now)
    decide_approval(approver or world.manager, request, True, "業務上必要と確認", now=now)
    outcome = decide_grant(owner or world.owner, request, GrantDecision(True, "研修修了を確認", days=days), now=now)
    db.session.commit()
    assert outcome.grant is not None, outcome.refused_reasons
    return outcome.grant


def token_for(world: World, system: ProtectedSystem | None = None) -> str:
    """A fresh API token of the system (committed)."""
    _row, token = create_api_token(world.admin, system or world.system, "test")
    db.session.commit()
    return token


def system_by_code(code: str) -> ProtectedSystem:
    """A system by its code."""
    return db.session.scalar(select(ProtectedSystem).where(ProtectedSystem.code == code))
