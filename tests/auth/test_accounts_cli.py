"""`portal accounts create-admin` and `set-password`: hidden prompts typed twice, the password rules,
audit events, and refusals that change nothing."""
from __future__ import annotations

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth.models import TwoFactor
from portal.auth.two_factor import enrol_second_factor, new_secret
from portal.extensions import db
from portal.org.models import Department, Person
from tests.accounts_fixtures import NEW_PASSWORD, code_at
from tests.conftest import PASSWORD, https_client, sign_in


def _run(app, *args, typed: str = ""):
    return app.test_cli_runner().invoke(args=["accounts", *args], input=typed)


def _twice(password: str = NEW_PASSWORD) -> str:
    return f"{password}\n{password}\n"


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _person(employee_no: str) -> Person | None:
    db.session.expire_all()
    return db.session.scalar(select(Person).where(Person.employee_no == employee_no))


def test_create_admin_on_a_fresh_database_creates_the_person_and_department(app):
    result = _run(app, "create-admin", "S0001", "--name", "渡辺 聡", "--department", "IT",
                  "--department-name", "情報システム部", typed=_twice())
    assert result.exit_code == 0, result.output
    assert "Password:" in result.output and "Password again:" in result.output
    assert NEW_PASSWORD not in result.output  # hidden input is not echoed
    admin = _person("S0001")
    assert admin.has_role("admin") and admin.department.name_ja == "情報システム部"
    [event] = _events("account.admin_created")
    assert '"created_person": true' in event.details_json and event.source == "cli"
    assert sign_in(https_client(app), admin, NEW_PASSWORD).status_code == 302


def test_create_admin_gives_an_imported_person_the_role(app, make_person):
    person = make_person("S0002", name="佐藤 花子", name_kana="さとう はなこ")
    person.password_hash = ""
    db.session.commit()
    result = _run(app, "create-admin", "S0002", typed=_twice())
    assert result.exit_code == 0, result.output
    admin = _person("S0002")
    assert admin.has_role("admin") and admin.password_hash.startswith("$argon2")
    assert '"role_granted": true' in _events("account.admin_created")[0].details_json


def test_a_password_that_breaks_the_rules_is_asked_again(app, make_person):
    make_person("S0003", name="佐藤 花子", name_kana="さとう はなこ").password_hash = ""
    db.session.commit()
    typed = _twice("short") + _twice("S0003-is-my-number-x") + _twice()
    result = _run(app, "create-admin", "S0003", typed=typed)
    assert result.exit_code == 0, result.output
    assert "12文字以上にしてください。" in result.output
    assert "パスワードに社員番号を含めないでください。" in result.output


def test_two_different_entries_are_asked_again_and_three_bad_tries_give_up(app, make_person):
    make_person("S0004").password_hash = ""
    db.session.commit()
    typed = f"{NEW_PASSWORD}\nsomething-else-entirely\n" + _twice("short") * 3
    result = _run(app, "create-admin", "S0004", typed=typed)
    assert result.exit_code == 1
    assert "no password was set" in result.output
    assert _person("S0004").password_hash == "" and not _person("S0004").has_role("admin")
    assert _events("account.admin_created") == []


def test_create_admin_refuses_when_an_admin_can_sign_in_unless_forced(app, make_person):
    make_person("S0005", roles=("admin",))
    make_person("E0006")
    refused = _run(app, "create-admin", "E0006", typed=_twice())
    assert refused.exit_code == 1 and "S0005" in refused.output and "--force" in refused.output
    assert not _person("E0006").has_role("admin")
    forced = _run(app, "create-admin", "E0006", "--force", typed=_twice())
    assert forced.exit_code == 0, forced.output
    assert _person("E0006").has_role("admin")
    assert '"forced": true' in _events("account.admin_created")[0].details_json


def test_create_admin_needs_a_known_person_or_a_name_and_department(app):
    result = _run(app, "create-admin", "S0007", typed=_twice())
    assert result.exit_code == 1 and "--name and --department" in result.output
    assert "Password" not in result.output  # refused before asking
    alone = _run(app, "create-admin", "S0007", "--name", "渡辺 聡", typed=_twice())
    assert alone.exit_code == 1
    assert _person("S0007") is None and db.session.scalars(select(Department)).all() == []


def test_the_password_is_never_taken_from_the_command_line(app):
    result = _run(app, "create-admin", "S0008", "--password", NEW_PASSWORD)
    assert result.exit_code == 2 and "No such option" in result.output


def test_set_password_is_audited_and_ends_sessions(app, client, make_person, login):
    person = make_person("E0009")
    login(person)
    result = _run(app, "set-password", "E0009", typed=_twice())
    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302  # the old session ended
    assert sign_in(https_client(app), person, PASSWORD).status_code == 401
    assert sign_in(https_client(app), person, NEW_PASSWORD).status_code == 302
    [event] = _events("account.password_set")
    assert '"via": "cli"' in event.details_json and event.actor_id is None


def test_set_password_can_remove_the_second_factor(app, clock, make_person):
    person = make_person("S0010", roles=("admin",))
    secret = new_secret()
    enrol_second_factor(person, secret, code_at(secret, clock.now))
    db.session.commit()
    result = _run(app, "set-password", "S0010", "--reset-second-factor", typed=_twice())
    assert result.exit_code == 0, result.output
    assert db.session.get(TwoFactor, person.id) is None
    assert '"second_factor_reset": true' in _events("account.password_set")[0].details_json


def test_set_password_refuses_unknown_and_inactive_people(app, make_person):
    make_person("E0011", active=False)
    assert _run(app, "set-password", "NOBODY", typed=_twice()).exit_code == 1
    inactive = _run(app, "set-password", "E0011", typed=_twice())
    assert inactive.exit_code == 1 and "not active" in inactive.output
    assert _events("account.password_set") == []
