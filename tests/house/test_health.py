"""GET /healthz: 200 when the database answers, 503 when it does not (for load balancers)."""
from __future__ import annotations

import pytest

from portal import create_app
from portal.extensions import db

UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-folder/portal.sqlite3",
    "postgres": "postgresql+psycopg://postgres@127.0.0.1:1/portal?connect_timeout=2",
}


def test_healthy_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_needs_no_sign_in_and_sets_no_session(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith("portal_session=")]


@pytest.mark.parametrize("backend", list(UNREACHABLE))
def test_unavailable_when_the_database_does_not_answer(backend, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": UNREACHABLE[backend], "TESTING": True,
                      "SECRET_KEY": "t", "PORTAL_MAIL_DIR": str(tmp_path)})
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable"}
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        with app.app_context():
            db.engine.dispose()
