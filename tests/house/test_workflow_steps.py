"""The shared step helper (portal/core/workflow.py) and the error pages around it.

A step moves a row only from the state the person saw; the loser learns what happened meanwhile
and writes nothing. The 500 page survives a failed transaction (it rolls back first).
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from portal.access.models import AccessRequest
from portal.access.services import request_access, request_witness
from portal.core.access import public, signed_in
from portal.core.workflow import StepLost, insert_once, move_step, refuse_unless, try_move
from portal.extensions import db
from portal.org.models import Department
from portal.training.models import TrainingProgress
from tests.access_fixtures import EXPLANATION, PURPOSES


@pytest.fixture
def waiting(world, clock):
    """A request waiting for the manager's approval (committed)."""
    request = request_access(world.employee, world.system, PURPOSES[0], EXPLANATION)
    db.session.commit()
    return request


def test_a_move_from_the_state_seen_wins_once(world, waiting):
    values = {"status": "awaiting_grant", "approver_id": world.manager.id}
    assert try_move(AccessRequest, waiting.id, "status", "awaiting_approval", values) is True
    assert try_move(AccessRequest, waiting.id, "status", "awaiting_approval", values) is False
    db.session.commit()
    assert db.session.get(AccessRequest, waiting.id).status == "awaiting_grant"


def test_extra_conditions_must_hold_too(world, waiting):
    moved = try_move(AccessRequest, waiting.id, "status", ("awaiting_approval", "awaiting_grant"),
                     {"status": "refused_by_manager"}, AccessRequest.person_id == world.colleague.id)
    assert moved is False
    assert db.session.get(AccessRequest, waiting.id).status == "awaiting_approval"


def test_the_loser_is_told_who_moved_it_and_when(app, world, waiting, clock):
    with db.engine.begin() as other:  # the winner, in another connection, a moment earlier
        other.execute(text("UPDATE access_requests SET status = 'refused_by_manager', approver_id = :m, "
                           "approved_at = :at WHERE id = :id"), {"m": world.manager.id, "at": clock.now,
                                                                 "id": waiting.id})
    with pytest.raises(StepLost) as lost:
        move_step(waiting, "status", "awaiting_approval", {"status": "awaiting_grant"}, subject="access_request",
                  witness=request_witness)
    meanwhile = lost.value.meanwhile
    assert lost.value.subject == "access_request" and meanwhile.state == "refused_by_manager"
    assert meanwhile.by.id == world.manager.id and meanwhile.at == clock.now
    assert waiting.status == "refused_by_manager"  # the row shows the winner's state


def test_a_win_leaves_the_row_showing_its_new_state(world, waiting):
    move_step(waiting, "status", "awaiting_approval", {"status": "awaiting_grant"}, subject="access_request")
    assert waiting.status == "awaiting_grant"


def test_refuse_unless_says_what_happened_before_any_write(world, waiting):
    refuse_unless(waiting, "status", ("awaiting_approval",), subject="access_request")  # still there: no error
    with pytest.raises(StepLost) as lost:
        refuse_unless(waiting, "status", "awaiting_grant", subject="access_request")
    assert lost.value.meanwhile.state == "awaiting_approval"


def test_insert_once_lets_one_row_in_and_names_the_one_there(world, clock):
    values = {"person_id": world.employee.id, "manual_id": world.manual.id, "started_edition_number": 1,
              "updated_at": clock.now}
    row = insert_once(TrainingProgress, values, ["person_id", "manual_id"], subject="progress", state="started",
                      witness=lambda existing: (None, existing.updated_at))
    assert row.started_edition_number == 1
    with pytest.raises(StepLost) as lost:
        insert_once(TrainingProgress, {**values, "started_edition_number": 2}, ["person_id", "manual_id"],
                    subject="progress", state="started", witness=lambda existing: (None, existing.updated_at))
    assert lost.value.meanwhile.state == "started" and lost.value.meanwhile.at == clock.now
    assert db.session.scalar(select(func.count()).select_from(TrainingProgress)) == 1


@pytest.fixture
def failing_app(app):
    """Test-only routes: one fails a flush (a duplicate key), one loses a step nobody words."""

    @signed_in
    def duplicate():
        db.session.add(Department(code="DUP", name_ja="重複部", name_en="Duplicate", kind="internal"))
        db.session.add(Department(code="DUP", name_ja="重複部", name_en="Duplicate", kind="internal"))
        db.session.flush()
        return "unreachable"

    @public
    def unworded():
        raise StepLost("something", __import__("portal.core.workflow", fromlist=["Meanwhile"]).Meanwhile("done"))

    app.add_url_rule("/test-only/duplicate", "test_duplicate", duplicate)
    app.add_url_rule("/test-only/unworded", "test_unworded", unworded)
    app.add_url_rule("/api/test-only/unworded", "test_api_unworded", unworded)
    return app


def test_a_crash_after_a_failed_flush_still_shows_the_portals_page(failing_app, client, world, login):
    login(world.employee)
    response = client.get("/test-only/duplicate")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "システムで問題が発生しました" in body and "IntegrityError" not in body
    assert world.employee.name in body  # the page read the signed-in person after rolling back
    assert "object-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/").status_code == 200  # and the next request works


def test_a_lost_step_no_view_words_answers_409_never_500(failing_app, client):
    page = client.get("/test-only/unworded")
    assert page.status_code == 409 and "この間にほかの人が変更しました" in page.get_data(as_text=True)
    assert "base-uri 'none'" in page.headers["Content-Security-Policy"]
    api = client.get("/api/test-only/unworded")
    assert api.status_code == 409 and api.is_json and api.get_json()["status"] == 409


def test_a_duplicate_key_is_an_integrity_error_at_the_database(world):
    """The duplicate route above really fails at flush (so the test before it proves something)."""
    db.session.add(Department(code="DUP2", name_ja="重複部", name_en="Duplicate", kind="internal"))
    db.session.add(Department(code="DUP2", name_ja="重複部", name_en="Duplicate", kind="internal"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
