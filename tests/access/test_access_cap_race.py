"""Two grants at the edge of a cap at the same moment: never over the cap, on either backend.

Each grant runs in its own thread, app context and database connection. A barrier inside the
cap's critical section (right after the counting) makes the race certain: without the lock both
threads would count the same free place and both grants would come into force; with it, the
second waits for the first to commit and counts again.
"""
from __future__ import annotations

import threading

from sqlalchemy import select

import portal.access.cap as cap_module
from portal.access.models import AccessGrant, AccessRequest
from portal.access.services import GrantDecision, decide_approval, decide_grant, request_access
from portal.extensions import db
from portal.org.models import Person
from tests.access_fixtures import EXPLANATION, PURPOSES, train
from tests.cap_fixtures import in_force_count, set_caps

RACE_WAIT_SECONDS = 1.0


def _approved_request(world, person) -> int:
    request = request_access(person, world.system, PURPOSES[0], EXPLANATION)
    decide_approval(world.manager, request, True, "業務上必要と確認")
    db.session.commit()
    return request.id


def _both_at_once(app, monkeypatch, work) -> list[BaseException]:
    """Run work(i) for i in 0, 1 in two threads, each in its own app context; return their errors."""
    barrier = threading.Barrier(2, timeout=RACE_WAIT_SECONDS)
    real_admission = cap_module.admission

    def admission_after_both_counted(*args, **kwargs):
        try:
            barrier.wait()  # both threads have counted (only possible without the lock)
        except threading.BrokenBarrierError:
            pass  # the other thread is held by the lock: go on alone
        return real_admission(*args, **kwargs)

    monkeypatch.setattr(cap_module, "admission", admission_after_both_counted)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            with app.app_context():
                work(index)
                db.session.commit()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_two_grants_at_the_edge_of_the_cap_never_go_over(app, world, clock, monkeypatch):
    for person in (world.employee, world.colleague):
        train(person, world)
    db.session.commit()
    set_caps(world, **{"CUST-FRONT": "1人"})
    request_ids = [_approved_request(world, p) for p in (world.employee, world.colleague)]
    owner_ids = [world.owner.id, world.owner2.id]

    def grant(index: int) -> None:
        request = db.session.get(AccessRequest, request_ids[index])
        decide_grant(db.session.get(Person, owner_ids[index]), request, GrantDecision(True, "研修修了を確認", days=30))

    assert _both_at_once(app, monkeypatch, grant) == []
    db.session.expire_all()
    states = sorted(db.session.scalars(select(AccessGrant.state)))
    assert states == ["in_force", "waiting_for_room"]
    assert in_force_count(world, world.front) == 1


def test_two_resumes_into_a_full_department_never_go_over(app, world, clock, monkeypatch, make_person):
    from portal.access.refresh import refresh_access_decisions
    from tests.cap_fixtures import grant_request

    people = [world.employee, world.colleague, make_person("E3", department=world.front)]
    for person in people:
        train(person, world)
    db.session.commit()
    set_caps(world, **{"CUST-FRONT": "2人"})
    first, second = grant_request(world, people[0]), grant_request(world, people[1])
    away = [people[0].id, people[1].id]
    db.session.execute(Person.__table__.update().where(Person.id.in_(away)).values(active=False))
    refresh_access_decisions(away)  # both are away: both grants suspended
    db.session.commit()
    grant_request(world, people[2])  # one of the two places is taken meanwhile
    db.session.execute(Person.__table__.update().where(Person.id.in_(away)).values(active=True))
    db.session.commit()  # both are back: both grants may resume, each in its own transaction

    def resume(index: int) -> None:
        refresh_access_decisions([people[index].id])

    assert _both_at_once(app, monkeypatch, resume) == []
    db.session.expire_all()
    assert sorted(db.session.get(AccessGrant, g.id).state for g in (first, second)) == ["in_force",
                                                                                        "waiting_for_room"]
    assert in_force_count(world, world.front) == 2
