"""The demo's look-ups: requests in every state, and a back-office handler who can sign in."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.demo.lookups import HANDLER
from portal.demo.organisation import DEMO_PASSWORD
from portal.extensions import db
from portal.lookups.models import LookupRequest
from portal.lookups.queries import grant_in_force
from portal.org.models import Person
from tests.conftest import https_client, sign_in


def test_demo_has_look_ups_in_every_state_and_a_handler_who_can_sign_in(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    statuses = dict(db.session.execute(select(LookupRequest.status, func.count()).group_by(LookupRequest.status)).all())
    assert set(statuses) == {"awaiting_approval", "refused", "awaiting_handler", "in_progress", "answered",
                             "withdrawn", "expired"}
    handler = db.session.scalar(select(Person).where(Person.employee_no == HANDLER))
    assert handler.department.code == "BACKYARD"
    waiting = db.session.scalar(select(LookupRequest).where(LookupRequest.status == "awaiting_handler"))
    assert grant_in_force(handler.id, waiting.system_id)
    client = https_client(app)
    assert sign_in(client, handler, DEMO_PASSWORD).status_code == 302
    queue = client.get("/lookups/queue").get_data(as_text=True)
    assert f"/lookups/{waiting.id}\"" in queue
    auditor = https_client(app)
    assert sign_in(auditor, db.session.scalar(select(Person).where(Person.employee_no == "A5001")),
                   DEMO_PASSWORD).status_code == 302
    page = auditor.get("/lookups/statistics").get_data(as_text=True)
    assert "お客様フロント部" in page and "営業企画部" in page
