"""Helpers for the dashboard, certificate and reminder tests: a small organisation with manuals,
assignments and real attestations (made through the training services, as a learner would)."""
from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.manuals.models import Manual
from portal.training import services as training
from portal.training.models import Attestation
from portal.training.services import record_progress
from portal.training.status import jst_today
from tests.conftest import PASSWORD, https_client, sign_in
from tests.training_fixtures import add_edition, answers_for, assign, make_manual, quiz_spec

__all__ = ["add_edition", "assign", "make_manual", "quiz_spec"]


def attest(person, manual: Manual, now: datetime | None = None) -> Attestation:
    """Pass the quiz on the manual's latest edition and attest it, through the training services."""
    attempt = training.start_attempt(person, manual, now=now)
    training.submit_attempt(person, attempt, answers_for(attempt), now=now)
    attestation = training.attest_edition(person, manual, password=PASSWORD, locale="ja", client_address="test",
                                          user_agent="pytest", now=now)
    db.session.commit()
    return attestation


def client_for(app, person):
    """A separate browser signed in as the person (for tests that compare two viewers)."""
    browser = https_client(app)
    response = sign_in(browser, person)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def started(person, manual: Manual, edition_number: int = 1) -> None:
    """The person opened the quiz (in progress) without finishing it."""
    record_progress(person.id, manual.id, datetime.now().astimezone(), started=edition_number)
    db.session.commit()


def events(action: str) -> list[AuditEvent]:
    """Audit events of one action, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def count(model) -> int:
    """Rows of a model."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def mail_files(app) -> list[email.message.EmailMessage]:
    """Messages the development mail writer left in PORTAL_MAIL_DIR."""
    folder = Path(app.config["PORTAL_MAIL_DIR"])
    if not folder.exists():
        return []
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(folder.glob("*.eml"))]


@dataclass
class Org:
    """Two departments, a manager of the first, an admin, a training admin, an auditor and learners."""

    sales: object
    front: object
    manager: object
    other_manager: object
    admin: object
    training_admin: object
    auditor: object
    current: object      # attested: current
    overdue: object      # not started, due date passed
    soon: object         # not started, due in 3 days
    outsider: object     # in the other department, overdue
    manual: Manual
    today: date


@pytest.fixture
def org(app, make_department, make_person) -> Org:
    """The organisation most tests start from; the manual needs re-training every 12 months."""
    today = jst_today()
    sales = make_department("SALES", name_ja="営業企画部", name_en="Sales Planning")
    front = make_department("FRONT", name_ja="お客様フロント部", name_en="Customer Front")
    manager = make_person("M1", roles=("manager",), department=sales, manages=[sales], name="山﨑 健一",
                          name_kana="やまさき けんいち")
    other_manager = make_person("M2", roles=("manager",), department=front, manages=[front], name="中村 恵",
                                name_kana="なかむら めぐみ")
    admin = make_person("S1", roles=("admin",), department=sales, name="渡辺 聡", name_kana="わたなべ さとし")
    training_admin = make_person("T1", roles=("training_admin",), department=sales, name="佐藤 花子",
                                 name_kana="さとう はなこ")
    auditor = make_person("A1", roles=("auditor",), department=sales, name="伊藤 直樹", name_kana="いとう なおき")
    current = make_person("E1", department=sales, name="髙橋 優子", name_kana="たかはし ゆうこ")
    overdue = make_person("E2", department=sales, name="𠮷田 誠", name_kana="よしだ まこと")
    soon = make_person("E3", department=sales, name="宮﨑 葵", name_kana="みやざき あおい")
    outsider = make_person("E4", department=front, name="鈴木 一郎", name_kana="すずき いちろう")
    for person in (manager, other_manager, admin, training_admin, auditor, current, overdue, soon, outsider):
        person.email = f"{person.employee_no.lower()}@example.co.jp"
    db.session.commit()
    manual = make_manual("partner-data", validity_months=12)
    for person in (current, soon):
        assign(person, manual, due=today + timedelta(days=3))
    for person in (overdue, outsider):
        assign(person, manual, due=today - timedelta(days=2))
    attest(current, manual)
    return Org(sales, front, manager, other_manager, admin, training_admin, auditor, current, overdue, soon,
               outsider, manual, today)
