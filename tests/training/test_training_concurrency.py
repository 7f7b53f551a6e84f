"""Races settled by the database: replays, double clicks and two tabs give one result."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.training.models import Attestation, QuizAttempt
from tests.conftest import PASSWORD, csrf_token_from, https_client
from tests.training_fixtures import answers_for, assign, form_data, make_manual

REPLAYS = 50


@pytest.fixture
def learner(make_person, login):
    person = make_person("E1001")
    login(person)
    return person


def _all_at_once(app, client, count: int, send) -> list[int]:
    """Run send(client_copy) in `count` threads released together; returns the status codes."""
    token = csrf_token_from(client, "/training/")  # first: it may add the CSRF secret to the session
    cookie = client.get_cookie("portal_session").value
    barrier = threading.Barrier(count)
    codes: list[int] = []
    lock = threading.Lock()

    def worker():
        copy = https_client(app)
        copy.set_cookie("portal_session", cookie, domain="localhost")
        barrier.wait()
        response = send(copy, token)
        response.close()
        with lock:
            codes.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return codes


def test_fifty_concurrent_replays_of_a_submission_grade_it_once(app, client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    attempt = db.session.get(QuizAttempt, flow.start(manual.slug))
    posted, url = answers_for(attempt), f"/training/attempts/{attempt.id}"
    fields = form_data(attempt, posted, "")
    codes = _all_at_once(app, client, REPLAYS, lambda c, token: c.post(url, data={**fields, "csrf_token": token}))
    assert sorted(set(codes)) == [303, 409]
    assert codes.count(303) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 1
    assert db.session.scalars(select(QuizAttempt)).one().outcome == "passed"


def test_many_clicks_on_start_open_one_attempt(app, client, learner):
    manual = make_manual()
    assign(learner, manual)
    url = f"/training/manuals/{manual.slug}/attempts"
    codes = _all_at_once(app, client, 20, lambda c, token: c.post(url, data={"csrf_token": token}))
    assert set(codes) == {303}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 1


def test_two_tabs_attesting_at_once_store_one_attestation(app, client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    attempt = db.session.get(QuizAttempt, flow.start(manual.slug))
    flow.submit(attempt, answers_for(attempt))
    url = f"/training/manuals/{manual.slug}/attest"
    codes = _all_at_once(app, client, 5, lambda c, token: c.post(url, data={"csrf_token": token, "password": PASSWORD}))
    assert codes.count(303) == 1 and set(codes) <= {302, 303}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Attestation)) == 1
