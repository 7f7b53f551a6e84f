"""Read → quiz → attest through the real pages, as a learner (and as an attacker) would."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.training.models import Attestation, QuizAttempt
from portal.training.status import jst_today, statuses_for
from tests.conftest import PASSWORD
from tests.training_fixtures import SECRET_MARK, answers_for, assign, form_data, make_manual, quiz_spec


@pytest.fixture
def learner(make_person, login):
    person = make_person("E1001", name="髙橋 優子")
    login(person)
    return person


def _attempt(attempt_id: int) -> QuizAttempt:
    db.session.expire_all()
    return db.session.get(QuizAttempt, attempt_id)


def _key_texts(spec: dict) -> list[str]:
    """Strings that only the answer key contains."""
    return [q["explanation"][lang] for q in spec["questions"] for lang in ("ja", "en")]


def test_fail_once_then_pass_and_attest(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    first = _attempt(flow.start(manual.slug))
    response = flow.submit(first, answers_for(first, right=False))
    assert response.status_code == 303
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "今回は合格に届きませんでした" in result or "Not passed" in result
    assert SECRET_MARK in result  # after submission the learner sees why
    second = _attempt(flow.start(manual.slug))
    assert second.id != first.id
    assert flow.submit(second, answers_for(second)).status_code == 303
    assert statuses_for([learner.id], [manual.id], jst_today())[(learner.id, manual.id)] == "in_progress"
    page = client.get(f"/training/manuals/{manual.slug}/attest").get_data(as_text=True)
    assert "確認して誓約する" in page
    response = flow.attest(manual.slug, PASSWORD)
    assert response.status_code == 303
    db.session.expire_all()
    attestation = db.session.scalars(select(Attestation)).one()
    assert attestation.attempt_id == second.id and attestation.edition_number == 1
    assert len(attestation.verification_code) >= 22
    assert statuses_for([learner.id], [manual.id], jst_today())[(learner.id, manual.id)] == "current"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "training.attested")).one()
    assert event.actor_id == learner.id and event.details["edition"] == 1
    assert event.details["edition_content_hash"] == attestation.edition_content_hash


def test_no_response_before_submission_reveals_the_key_or_a_score(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    secrets = _key_texts(manual.editions[-1].quiz_version.spec)
    bodies = [client.get("/training/").get_data(as_text=True),
              client.get(f"/training/manuals/{manual.slug}").get_data(as_text=True)]
    attempt = _attempt(flow.start(manual.slug))
    page = client.get(f"/training/attempts/{attempt.id}")
    bodies.append(page.get_data(as_text=True))
    bodies.append(client.get(f"/training/attempts/{attempt.id}/result", follow_redirects=True).get_data(as_text=True))
    bodies.append(client.get(f"/api/v1/people/{learner.employee_no}/training").get_data(as_text=True))
    incomplete = flow.submit(attempt, {attempt.drawn[0]["id"]: [attempt.drawn[0]["choices"][0]]})
    assert incomplete.status_code == 400
    bodies.append(incomplete.get_data(as_text=True))
    for body in bodies:
        for secret in secrets:
            assert secret not in body
    api = bodies[4]
    assert '"correct"' not in api and '"score"' not in api
    for body in (bodies[2], bodies[5]):  # the quiz itself, and the quiz sent back for a missing answer
        main = body.split('id="main"', 1)[1]
        for marker in ("正解", "不正解", "合格", "得点", "correct", "score"):
            assert marker not in main
    quiz_page = bodies[2]
    assert quiz_page.count("<fieldset") == 4 and quiz_page.count("<legend") == 4
    # Every choice is offered the same way: nothing in the markup tells the right one apart.
    for drawn in attempt.drawn:
        for choice in drawn["choices"]:
            assert f'name="answer-{drawn["id"]}" value="{choice}">' in quiz_page


def test_a_posted_score_or_correct_flag_is_ignored(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    flow.submit(attempt, answers_for(attempt, right=False), score="4", correct="true", passed="1")
    attempt = _attempt(attempt.id)
    assert (attempt.score, attempt.passed, attempt.outcome) == (0, False, "failed")


def test_replaying_a_submission_grades_once(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    assert flow.submit(attempt, answers_for(attempt, right=False)).status_code == 303
    replay = flow.submit(attempt, answers_for(attempt, right=True))
    assert replay.status_code == 409
    assert "既に送信" in replay.get_data(as_text=True)
    attempt = _attempt(attempt.id)
    assert attempt.outcome == "failed"
    assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 1


def test_a_double_click_on_start_opens_one_attempt(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    assert flow.start(manual.slug) == flow.start(manual.slug)
    assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 1


def test_unanswered_questions_are_named_and_nothing_is_stored(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    response = flow.submit(attempt, {})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "入力内容に問題があります" in body and "問1" in body
    assert _attempt(attempt.id).submitted_at is None


def test_a_submission_after_the_time_limit_and_grace_is_not_graded(client, learner, flow):
    manual = make_manual(spec=quiz_spec(time_limit_minutes=10))
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    db.session.execute(text("UPDATE quiz_attempts SET deadline_at = :d WHERE id = :i"),
                       {"d": (attempt.started_at - timedelta(seconds=31)).replace(tzinfo=None), "i": attempt.id})
    db.session.commit()
    response = flow.submit(attempt, answers_for(attempt))
    assert response.status_code == 303
    attempt = _attempt(attempt.id)
    assert (attempt.outcome, attempt.passed, attempt.score) == ("timed_out", False, None)
    assert "時間切れ" in client.get(f"/training/attempts/{attempt.id}/result").get_data(as_text=True)
    assert client.get(f"/training/manuals/{manual.slug}/attest").status_code == 302


def test_a_submission_within_the_grace_is_graded(client, learner, flow):
    manual = make_manual(spec=quiz_spec(time_limit_minutes=10))
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    db.session.execute(text("UPDATE quiz_attempts SET deadline_at = :d WHERE id = :i"),
                       {"d": (attempt.started_at - timedelta(seconds=10)).replace(tzinfo=None), "i": attempt.id})
    db.session.commit()
    flow.submit(attempt, answers_for(attempt))
    assert _attempt(attempt.id).outcome == "passed"


def test_attesting_without_a_pass_is_refused(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    response = flow.attest(manual.slug, PASSWORD)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Attestation)) == 0


def test_a_wrong_password_stores_nothing(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    flow.submit(attempt, answers_for(attempt))
    response = flow.attest(manual.slug, "not-my-password")
    body = response.get_data(as_text=True)
    assert response.status_code == 401  # as for a wrong password at sign-in
    assert "パスワードが正しくありません" in body and 'aria-invalid="true"' in body
    assert db.session.scalar(select(func.count()).select_from(Attestation)) == 0
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "training.attested")) == 0


def test_attesting_twice_keeps_one_attestation(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    flow.submit(attempt, answers_for(attempt))
    assert flow.attest(manual.slug, PASSWORD).status_code == 303
    assert flow.attest(manual.slug, PASSWORD).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Attestation)) == 1


def test_attestations_and_submitted_attempts_cannot_be_changed(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    flow.submit(attempt, answers_for(attempt))
    flow.attest(manual.slug, PASSWORD)
    for statement in ("UPDATE attestations SET attested_at = attested_at", "DELETE FROM attestations",
                      "UPDATE quiz_attempts SET score = 0", "DELETE FROM quiz_attempts"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()


def test_someone_elses_attempt_looks_nonexistent(client, learner, flow, make_person):
    manual = make_manual()
    other = make_person("E2002")
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    attempt.person_id = other.id
    db.session.commit()
    for path in (f"/training/attempts/{attempt.id}", f"/training/attempts/{attempt.id}/result",
                 "/training/attempts/999999"):
        assert client.get(path).status_code == 404


def test_state_changes_need_post_and_a_csrf_token(client, learner):
    manual = make_manual()
    assign(learner, manual)
    assert client.get(f"/training/manuals/{manual.slug}/attempts").status_code == 405
    assert client.post(f"/training/manuals/{manual.slug}/attempts").status_code == 400
    assert client.post(f"/training/manuals/{manual.slug}/attest", data={"password": PASSWORD}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 0


def test_a_submission_without_its_csrf_token_is_refused_and_not_graded(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    attempt = _attempt(flow.start(manual.slug))
    url = f"/training/attempts/{attempt.id}"
    assert client.post(url, data=form_data(attempt, answers_for(attempt), "")).status_code == 400
    assert client.post(url, data=form_data(attempt, answers_for(attempt), "forged")).status_code == 400
    assert _attempt(attempt.id).submitted_at is None
