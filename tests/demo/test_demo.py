"""`portal demo`: the demo organisation goes only into an empty database, with one sign-in per role."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.demo.organisation import DEMO_ACCOUNTS, DEMO_PASSWORD
from portal.extensions import db
from portal.org.models import Department, Person
from tests.conftest import https_client, sign_in

SEED_DEPARTMENTS = ("営業企画", "お客様フロント", "バックヤード")
ROLE_ACCOUNTS = {"employee": "E1001", "manager": "M2001", "training_admin": "T3001",
                 "grant_owner": "G4001", "auditor": "A5001", "admin": "S6001"}


def _people() -> int:
    return db.session.scalar(select(func.count(Person.id)))


def _demo(app, *args):
    result = app.test_cli_runner().invoke(args=["demo", *args])
    db.session.expire_all()
    return result


def test_demo_loads_the_seed_departments_an_agency_and_people(app):
    result = _demo(app)
    assert result.exit_code == 0, result.output
    departments = db.session.scalars(select(Department)).all()
    names = [d.name_ja for d in departments]
    for seed in SEED_DEPARTMENTS:
        assert any(name.startswith(seed) for name in names), f"no {seed} department in {names}"
    assert any(d.kind == "agency" for d in departments)
    assert _people() >= 50
    assert "demo sign-ins" in result.output


def test_every_demo_sign_in_works_and_holds_its_role(app):
    assert _demo(app).exit_code == 0
    for role, employee_no in ROLE_ACCOUNTS.items():
        person = db.session.scalar(select(Person).where(Person.employee_no == employee_no))
        assert person is not None and person.has_role(role), (employee_no, role)
        browser = https_client(app)
        assert sign_in(browser, person, DEMO_PASSWORD).status_code == 302, employee_no
        assert browser.get("/").status_code == 200
    listed = {account[0] for account in DEMO_ACCOUNTS}
    assert set(ROLE_ACCOUNTS.values()) <= listed


def test_demo_people_other_than_the_sign_ins_cannot_sign_in(app):
    assert _demo(app).exit_code == 0
    staff = db.session.scalars(select(Person).where(Person.employee_no.not_in([a[0] for a in DEMO_ACCOUNTS]))).first()
    assert staff.password_hash == ""
    assert sign_in(https_client(app), staff, DEMO_PASSWORD).status_code == 401


def test_demo_refuses_a_database_that_has_people(app, make_person):
    make_person("X1")
    result = _demo(app)
    assert result.exit_code == 1
    assert "not empty" in result.output
    assert _people() == 1


def test_if_empty_does_nothing_when_people_exist(app):
    assert _demo(app).exit_code == 0
    before = _people()
    result = _demo(app, "--if-empty")
    assert result.exit_code == 0
    assert _people() == before


def test_large_demo_builds_the_asked_size(app):
    result = _demo(app, "--people", "300", "--departments", "12")
    assert result.exit_code == 0, result.output
    assert _people() == 300
    assert db.session.scalar(select(func.count(Department.id))) == 12
    assert db.session.scalar(select(func.count(Department.id)).where(Department.kind == "agency")) >= 1
    managers = db.session.scalars(select(Person).where(Person.employee_no == "P000001")).one()
    assert managers.has_role("manager") and managers.managed_departments


def test_the_demo_employee_sees_why_access_cannot_be_granted_yet(app):
    """E1001's training on a manual customer-info requires is overdue: the request page says so (the walkthrough)."""
    assert _demo(app).exit_code == 0
    person = db.session.scalar(select(Person).where(Person.employee_no == "E1001"))
    browser = https_client(app)
    assert sign_in(browser, person, DEMO_PASSWORD).status_code == 302
    page = browser.get("/access/systems/customer-info/request").get_data(as_text=True)
    assert "受講が完了していないため、まだ閲覧権限を付与できません。" in page
    assert "照会時の利用目的の明示と管理者承認マニュアルを受講する" in page
