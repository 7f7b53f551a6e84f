"""Re-training after a material edition: see what changed, re-train on the changed sections, attest again."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from portal.demo.training import record_backdated_attempt_for_demo, record_backdated_attestation_for_demo
from portal.extensions import db
from portal.training.models import Attestation, QuizAttempt
from portal.training.status import jst_today, statuses_for
from tests.conftest import PASSWORD
from tests.training_fixtures import SECTIONS_V1, add_edition, answers_for, assign, make_manual, quiz_spec, section

RULES_CHANGED = [SECTIONS_V1[0], section("rules", "遵守事項", version=2), SECTIONS_V1[2]]


@pytest.fixture
def learner(make_person, login):
    person = make_person("E1001", name="髙橋 優子")
    login(person)
    return person


def _status(person, manual) -> str:
    db.session.expire_all()
    return statuses_for([person.id], [manual.id], jst_today())[(person.id, manual.id)]


def _train(flow, manual) -> QuizAttempt:
    """Pass the quiz and attest; returns the passed attempt."""
    attempt_id = flow.start(manual.slug)
    db.session.expire_all()
    attempt = db.session.get(QuizAttempt, attempt_id)
    assert flow.submit(attempt, answers_for(attempt)).status_code == 303
    assert flow.attest(manual.slug, PASSWORD).status_code == 303
    return attempt


def _publish(manual, number, **options):
    edition = add_edition(manual, number, **options)
    db.session.expire_all()
    return edition


def test_retraining_shows_the_change_then_draws_only_the_changed_sections(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    _train(flow, manual)
    assert _status(learner, manual) == "current"
    second = _publish(manual, 2, sections=RULES_CHANGED, spec=quiz_spec())
    assign(learner, manual, due=jst_today() + timedelta(days=14), edition=second)
    assert _status(learner, manual) == "due"

    page = client.get(f"/training/manuals/{manual.slug}").get_data(as_text=True)
    assert "第1版" in page and "遵守事項" in page
    assert f"/manuals/{manual.slug}/compare?from=1&amp;to=2" in page
    assert "変更箇所の理解度テストを始める" in page

    attempt_id = flow.start(manual.slug)
    db.session.expire_all()
    attempt = db.session.get(QuizAttempt, attempt_id)
    assert attempt.mode == "changed_sections" and attempt.edition_number == 2
    assert sorted(q["id"] for q in attempt.drawn) == ["q-rules-many", "q-rules-tf"]
    flow.submit(attempt, answers_for(attempt))
    assert flow.attest(manual.slug, PASSWORD).status_code == 303
    db.session.expire_all()
    assert [a.edition_number for a in db.session.scalars(select(Attestation).order_by(Attestation.id))] == [1, 2]
    assert _status(learner, manual) == "current"


def test_a_manual_can_demand_the_full_quiz_again(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    _train(flow, manual)
    second = _publish(manual, 2, sections=RULES_CHANGED, spec=quiz_spec(retrain="full"))
    assign(learner, manual, edition=second)
    page = client.get(f"/training/manuals/{manual.slug}").get_data(as_text=True)
    assert "全問受け直します" in page
    attempt = db.session.get(QuizAttempt, flow.start(manual.slug))
    assert attempt.mode == "full" and attempt.question_count == 4


def test_no_question_on_the_changed_sections_means_the_full_quiz(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    _train(flow, manual)
    changed = [*SECTIONS_V1, section("faq", "よくある質問")]
    second = _publish(manual, 2, sections=changed, spec=quiz_spec())
    assign(learner, manual, edition=second)
    attempt = db.session.get(QuizAttempt, flow.start(manual.slug))
    assert attempt.mode == "full" and attempt.question_count == 4


def test_a_minor_edition_keeps_training_current_and_asks_nothing(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    _train(flow, manual)
    _publish(manual, 2, change_kind="minor", sections=RULES_CHANGED, spec=quiz_spec())
    assert _status(learner, manual) == "current"
    page = client.get(f"/training/manuals/{manual.slug}").get_data(as_text=True)
    assert "理解度テストを始める" not in page
    assert client.get(f"/training/manuals/{manual.slug}/attest").status_code == 302


def _attested_long_ago(person, edition, days: int = 400):
    moment = datetime.now(timezone.utc) - timedelta(days=days)
    attempt = record_backdated_attempt_for_demo(person, edition, moment, passed=True, rng=random.Random(1))
    record_backdated_attestation_for_demo(person, edition, attempt, moment)
    db.session.commit()


def test_after_expiry_the_retraining_is_the_full_quiz(client, learner, flow):
    manual = make_manual(validity_months=12)
    assign(learner, manual)
    _attested_long_ago(learner, manual.editions[0])
    second = _publish(manual, 2, sections=RULES_CHANGED, spec=quiz_spec(), validity_months=12)
    assign(learner, manual, edition=second)
    assert _status(learner, manual) == "expired"
    attempt = db.session.get(QuizAttempt, flow.start(manual.slug))
    assert attempt.mode == "full" and attempt.question_count == 4


def test_an_expired_attestation_of_the_latest_edition_waits_for_a_new_edition(client, learner, flow):
    manual = make_manual(validity_months=12)
    assign(learner, manual)
    _attested_long_ago(learner, manual.editions[0])
    assert _status(learner, manual) == "expired"
    page = client.get(f"/training/manuals/{manual.slug}").get_data(as_text=True)
    assert "有効期限が切れています" in page and "理解度テストを始める" not in page


def test_what_changed_is_also_on_the_manual_reader(client, learner, flow):
    manual = make_manual()
    assign(learner, manual)
    _train(flow, manual)
    second = _publish(manual, 2, sections=RULES_CHANGED, spec=quiz_spec())
    assign(learner, manual, edition=second)
    response = client.get(f"/manuals/{manual.slug}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "再受講が必要" in body
    assert "/training/manuals/partner-data" in body
