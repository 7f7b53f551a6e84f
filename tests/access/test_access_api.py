"""The decision API: tokens, answers, freshness, and the training gate over time."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from portal.access.models import AccessEvent, AccessGrant, ApiToken
from portal.access.systems import SystemData, revoke_api_token, save_system
from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.access_fixtures import START, add_edition, assign, attest, grant_for, token_for, train

URL = "/api/v1/access-decisions"


def _mails(app) -> list:
    from email import policy
    from email.parser import BytesParser
    from pathlib import Path

    folder = Path(app.config["PORTAL_MAIL_DIR"])
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def ask(client, token, system="customer-info", employee="E1"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(URL, query_string={"system": system, "employee": employee}, headers=headers)
    response.close()
    return response


def test_no_token_or_a_wrong_token_gets_401_json(client, world, clock):
    token_for(world)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        response = client.get(URL, query_string={"system": "customer-info", "employee": "E1"}, headers=headers)
        assert response.status_code == 401 and response.is_json and response.json["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        response.close()


def test_a_revoked_token_gets_401_at_once(client, world, clock):
    token = token_for(world)
    assert ask(client, token).status_code == 200
    row = db.session.scalars(select(ApiToken)).one()
    revoke_api_token(world.admin, row)
    db.session.commit()
    assert ask(client, token).status_code == 401


def test_tokens_are_stored_hashed(world, clock):
    token = token_for(world)
    row = db.session.scalars(select(ApiToken)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.hint + row.token_hash
    assert len(token) >= 43  # 256 random bits, URL-safe


def test_a_token_of_another_system_gets_403(client, world, clock):
    other = save_system(world.admin, SystemData(code="billing", name_ja="料金システム", purposes=["請求確認"],
                                                grant_owner_nos=["G1"]))
    db.session.commit()
    token = token_for(world, other)
    response = ask(client, token)
    assert response.status_code == 403 and response.json["error"] == "token_not_for_system"
    assert ask(client, token, system="billing").status_code == 200


def test_missing_parameters_get_400(client, world, clock):
    token = token_for(world)
    response = client.get(URL, query_string={"system": "customer-info"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and response.json["error"] == "missing_parameter"
    response.close()


def test_unknown_person_and_no_grant(client, world, clock):
    token = token_for(world)
    unknown = ask(client, token, employee="ZZZ999").json
    assert unknown["allow"] is False and unknown["reasons"] == ["unknown_person"]
    none = ask(client, token).json
    assert none == {"allow": False, "reasons": ["no_grant"], "valid_until": None, "system": "customer-info",
                    "employee": "E1", "decided_at": START.isoformat()}


def test_a_grant_in_force_allows_until_it_expires(client, world, clock):
    train(world.employee, world)
    grant_for(world, world.employee, days=30)
    token = token_for(world)
    answer = ask(client, token).json
    assert answer["allow"] is True and answer["reasons"] == []
    assert answer["valid_until"] == (START + timedelta(days=30)).isoformat()
    clock.advance(days=30)
    assert ask(client, token).json["reasons"] == ["grant_expired"]
    grant = db.session.scalars(select(AccessGrant)).one()
    db.session.refresh(grant)
    assert grant.state == "expired"
    expired = db.session.scalars(select(AccessEvent).where(AccessEvent.kind == "expired")).one()
    assert expired.occurred_at == START + timedelta(days=30)


def test_no_csrf_and_no_session_needed_and_nothing_cached(client, world, clock):
    train(world.employee, world)
    grant_for(world, world.employee)
    token = token_for(world)
    response = ask(client, token)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers and response.headers["Cache-Control"] == "no-store"


def test_revocation_is_seen_by_the_very_next_call(client, world, clock):
    from portal.access.services import revoke_grant

    train(world.employee, world)
    grant = grant_for(world, world.employee)
    token = token_for(world)
    assert ask(client, token).json["allow"] is True
    revoke_grant(world.owner, grant, "異動のため")
    db.session.commit()
    assert ask(client, token).json["reasons"] == ["grant_revoked"]


def test_material_edition_suspends_after_the_due_date_not_before_and_resumes(client, world, clock):
    """SECURITY row 12 and the issue's walk-through: nobody is locked out on the day of re-editing."""
    train(world.employee, world)
    grant = grant_for(world, world.employee, days=180)
    token = token_for(world)
    # A material edition is published today; the manuals feature gives everyone until 2026-04-20.
    add_edition(world.manual, 2, effective=date(2026, 4, 1), days_allowed=19)
    assign(world.employee, world.manual, date(2026, 4, 20))
    from portal.access.refresh import refresh_access_decisions

    refresh_access_decisions()
    db.session.commit()
    answer = ask(client, token).json
    assert answer["allow"] is True
    due_end = datetime(2026, 4, 20, 15, 0, tzinfo=timezone.utc)  # 2026-04-21 00:00 JST
    assert answer["valid_until"] == due_end.isoformat()
    clock.set(due_end - timedelta(seconds=1))
    assert ask(client, token).json["allow"] is True
    clock.set(due_end + timedelta(hours=5))
    answer = ask(client, token).json
    assert answer == {"allow": False, "reasons": ["grant_suspended", "training_not_current:partner-data"],
                      "valid_until": grant.expires_at.isoformat(), "system": "customer-info", "employee": "E1",
                      "decided_at": (due_end + timedelta(hours=5)).isoformat()}
    suspended = db.session.scalars(select(AccessEvent).where(AccessEvent.kind == "suspended")).one()
    assert suspended.occurred_at == due_end and suspended.state_after == "suspended"
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.grant_suspended")).one()
    assert audit.details["reasons"] == ["training_not_current:partner-data"]
    subjects = [m["Subject"] for m in _mails(client.application)]
    assert "【権限停止】顧客情報管理システム 閲覧権限" in subjects  # the holder is told, with the reason
    # Re-training brings the grant back in force (the training feature refreshes decisions).
    attest(world.employee, world.manual, 2, at=clock.now)
    refresh_access_decisions([world.employee.id])
    db.session.commit()
    assert ask(client, token).json["allow"] is True
    kinds = [e.kind for e in db.session.scalars(select(AccessEvent).order_by(AccessEvent.occurred_at, AccessEvent.id))]
    assert kinds == ["requested", "approved", "granted", "suspended", "resumed"]


def test_deactivation_suspends(client, world, clock):
    from portal.access.refresh import refresh_access_decisions

    train(world.employee, world)
    grant_for(world, world.employee)
    token = token_for(world)
    world.employee.active = False
    refresh_access_decisions([world.employee.id])
    db.session.commit()
    assert ask(client, token).json["reasons"] == ["person_inactive", "grant_suspended"]


def test_token_use_is_noted(client, world, clock):
    token = token_for(world)
    ask(client, token)
    db.session.expire_all()
    assert db.session.scalars(select(ApiToken)).one().last_used_at == START


def test_openapi_describes_the_decision_api(client, world):
    response = client.get("/api/v1/openapi.json")
    spec = response.json
    response.close()
    assert spec["openapi"].startswith("3.")
    operation = spec["paths"]["/api/v1/access-decisions"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"system", "employee"}
    assert set(operation["responses"]) >= {"200", "401", "403"}
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize("employee", ["E1' OR '1'='1", "<script>", "E1\x00", "Ｅ１"])
def test_odd_employee_numbers_are_just_unknown(client, world, clock, employee):
    token = token_for(world)
    assert ask(client, token, employee=employee).json["reasons"] == ["unknown_person"]


def test_a_connection_the_database_dropped_is_replaced_without_failing_the_call(client, world, clock, database_url):
    """The decision API's connections skip the pool's ping: a dropped one is noticed, replaced, the call answered."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    token = token_for(world)
    assert ask(client, token).status_code == 200  # the decision API's pool now holds a connection
    db.session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    db.session.commit()
    response = ask(client, token)
    assert response.status_code == 200 and response.json["reasons"] == ["no_grant"]
