"""GET /api/v1/people/<employee_no>/training: who may read it, and what it says."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.training.status import jst_today
from tests.training_fixtures import assign, make_manual


@pytest.fixture
def world(make_person, make_department):
    front = make_department("CUST-FRONT")
    other = make_department("SALES-PLAN")
    learner = make_person("E1001", department=front, name="髙橋 優子")
    manual = make_manual()
    assign(learner, manual, due=jst_today() + timedelta(days=10))
    return {
        "learner": learner, "manual": manual,
        "manager": make_person("M2001", roles=("manager",), department=front, manages=[front]),
        "other_manager": make_person("M2002", roles=("manager",), department=other, manages=[other]),
        "colleague": make_person("E1002", department=front),
        "admin": make_person("T3001", roles=("training_admin",), department=other),
        "auditor": make_person("A5001", roles=("auditor",), department=other),
        "system_admin": make_person("S6001", roles=("admin",), department=other),
    }


@pytest.mark.parametrize("who", ["learner", "manager", "admin", "auditor", "system_admin"])
def test_the_person_their_manager_admins_and_auditors_may_read(client, login, world, who):
    login(world[who])
    response = client.get("/api/v1/people/E1001/training")
    assert response.status_code == 200
    data = response.get_json()
    assert data["employee_no"] == "E1001" and data["as_of"] == jst_today().isoformat()
    entry = data["training"][0]
    assert entry == {
        "manual": "partner-data", "title": "パートナー情報の取扱い", "status": "not_started",
        "due_date": (jst_today() + timedelta(days=10)).isoformat(), "current_edition": 1,
        "attested_edition": None, "attested_at": None, "valid_until": None,
    }


@pytest.mark.parametrize("who", ["colleague", "other_manager"])
def test_everyone_else_gets_the_same_404_as_for_nobody(client, login, world, who):
    login(world[who])
    refused = client.get("/api/v1/people/E1001/training")
    missing = client.get("/api/v1/people/NOBODY/training")
    assert refused.status_code == missing.status_code == 404
    assert refused.get_json() == missing.get_json()


def test_without_signing_in_the_answer_is_401_json(client, world):
    response = client.get("/api/v1/people/E1001/training")
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication_required"}
