"""A revoked certificate's attestation no longer counts: the pure rule, every read, the grant, re-attestation."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from portal.access.models import AccessDecision, AccessGrant
from portal.access.systems import SystemData, save_system
from portal.certificates.queries import certificate_by_id
from portal.certificates.services import revoke_certificate
from portal.extensions import db
from portal.training.models import Attestation, QuizAttempt
from portal.training.queries import my_training
from portal.training.status import (
    AttestationFact,
    TrainingFacts,
    check,
    counting_attestation,
    department_pairs_select,
    jst_today,
    progress_problems,
    settle,
    status_counts,
    status_rows,
    training_status,
)
from tests.access_fixtures import EXPLANATION, PURPOSES
from tests.certificates_fixtures import attest, mail_files
from tests.conftest import PASSWORD, https_client, sign_in
from tests.training_fixtures import assign, make_manual

MOMENT = datetime(2026, 4, 1, 3, 0, tzinfo=timezone.utc)


# --- the pure rule -------------------------------------------------------------------------------

def test_nothing_attested_counts_nothing():
    assert counting_attestation([]) is None


def test_a_revoked_attestation_does_not_count():
    assert counting_attestation([AttestationFact(2, MOMENT, revoked=True)]) is None


def test_when_the_newest_is_revoked_the_older_one_counts_again():
    older = AttestationFact(1, MOMENT - timedelta(days=200))
    newest = AttestationFact(2, MOMENT, revoked=True)
    assert counting_attestation([newest, older]) == older


def test_the_same_edition_attested_again_after_a_revocation_counts():
    revoked = AttestationFact(2, MOMENT, revoked=True, id=1)
    again = AttestationFact(2, MOMENT + timedelta(days=3), id=2)
    assert counting_attestation([again, revoked]) == again


def test_the_newest_edition_wins_over_a_later_moment_on_an_older_one():
    assert counting_attestation([AttestationFact(1, MOMENT + timedelta(days=9)),
                                 AttestationFact(2, MOMENT)]).edition_number == 2


@pytest.mark.parametrize("revoked, expected", [(False, "current"), (True, "not_started")])
def test_the_status_follows_the_attestation_that_counts(revoked, expected):
    counting = counting_attestation([AttestationFact(2, MOMENT, revoked=revoked)])
    facts = TrainingFacts(True, date(2026, 6, 30), 2, counting.edition_number if counting else None, None, None)
    assert training_status(facts, date(2026, 4, 2)) == expected


def test_a_revocation_after_the_due_date_makes_it_overdue_not_current():
    counting = counting_attestation([AttestationFact(2, MOMENT, revoked=True), AttestationFact(1, MOMENT)])
    facts = TrainingFacts(True, date(2026, 4, 1), 2, counting.edition_number, None, 2)
    assert training_status(facts, date(2026, 4, 2)) == "overdue"


# --- in the portal -------------------------------------------------------------------------------

@pytest.fixture
def trained(app, clock, make_department, make_person):
    """E1 attested the manual the customer-info system requires, and holds a grant in force."""
    from portal.access.services import GrantDecision, decide_approval, decide_grant, request_access

    front = make_department("CUST-FRONT", "お客様フロント部")
    person = make_person("E1", department=front, name="髙橋 優子")
    person.email = "e1@example.co.jp"
    manager = make_person("M1", roles=("manager",), department=front, manages=[front], name="山﨑 健一")
    owner = make_person("G1", roles=("grant_owner",), department=front, name="𠮷田 誠")
    admin = make_person("S1", roles=("admin",), department=front, name="渡辺 聡")
    manual = make_manual()
    assign(person, manual, due=jst_today() + timedelta(days=30))
    attestation = attest(person, manual)
    system = save_system(admin, SystemData(code="customer-info", name_ja="顧客情報管理システム", purposes=PURPOSES,
                                           manual_slugs=[manual.slug], grant_owner_nos=["G1"]))
    request = request_access(person, system, PURPOSES[0], EXPLANATION)
    decide_approval(manager, request, True, "業務上必要と確認")
    grant = decide_grant(owner, request, GrantDecision(True, "研修修了を確認", days=90)).grant
    db.session.commit()
    return {"person": person, "admin": admin, "manual": manual, "attestation": attestation, "system": system,
            "grant": grant, "department": front}


def _revoke(trained) -> None:
    facts = certificate_by_id(trained["attestation"].id, jst_today())
    revoke_certificate(trained["admin"], facts, "他人のアカウントで受講していたため")
    db.session.commit()
    db.session.expire_all()


def test_revoking_the_certificate_stops_the_training_counting_everywhere(trained):
    person, manual, today = trained["person"], trained["manual"], jst_today()
    settle(today)
    db.session.commit()
    assert status_counts(today)[(None, manual.id, "current")] == 1
    _revoke(trained)
    pair = (person.id, manual.id)
    assert {(r.person_id,
             r.manual_id): r.status for r in status_rows([person.id], None, today)} == {pair: "in_progress"}
    assert [t.status for t in my_training(person.id, today, "ja")] == ["in_progress"]  # started, no attestation counts
    assert status_counts(today) == {(None, manual.id, "in_progress"): 1}  # the materialised counts, unsettled
    assert {(p, m): s for p, m, s, _d in db.session.execute(
        department_pairs_select(today, [trained["department"].id]))} == {pair: "in_progress"}
    settle(today)
    db.session.commit()
    assert status_counts(today) == {(None, manual.id, "in_progress"): 1}
    assert check(today) == [] and progress_problems() == []


def test_grants_that_need_the_manual_are_suspended_at_once_and_the_person_is_told(app, trained):
    _revoke(trained)
    grant = db.session.get(AccessGrant, trained["grant"].id)
    assert grant.state == "suspended" and grant.suspension == [f"training_not_current:{trained['manual'].slug}"]
    decision = db.session.get(AccessDecision, (trained["system"].id, trained["person"].id))
    assert not decision.allow and "grant_suspended" in json.loads(decision.reasons_json)
    suspended = [m for m in mail_files(app) if m["To"] == "e1@example.co.jp" and "権限停止" in m["Subject"]]
    assert len(suspended) == 1 and "修了証の失効" in suspended[0].get_content()


def test_the_person_sees_why_and_attests_again(app, trained, clock):
    person, manual = trained["person"], trained["manual"]
    clock.advance(days=2)
    _revoke(trained)
    browser = https_client(app)
    assert sign_in(browser, person).status_code == 302
    page = browser.get("/training/").get_data(as_text=True)
    assert "要再誓約" in page and "他人のアカウントで受講していたため" in page
    overview = browser.get(f"/training/manuals/{manual.slug}").get_data(as_text=True)
    assert "要再誓約" in overview and "他人のアカウントで受講していたため" in overview
    # The quiz again (the earlier pass cannot be reused), then the same edition attested again as cycle 1.
    clock.advance(minutes=10)
    again = attest(person, manual)
    assert again.cycle == 1 and again.edition_id == trained["attestation"].edition_id
    assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 2
    db.session.expire_all()
    assert [t.status for t in my_training(person.id, jst_today(), "ja")] == ["current"]
    assert db.session.get(AccessGrant, trained["grant"].id).state == "in_force"
    assert "要再誓約" not in browser.get("/training/").get_data(as_text=True)
    assert progress_problems() == []


def test_without_a_new_pass_the_old_one_cannot_be_attested_again(app, trained):
    from portal.core.refusals import Refusal
    from portal.training.services import attest_edition

    _revoke(trained)
    with pytest.raises(Refusal) as refused:
        attest_edition(trained["person"], trained["manual"], password=PASSWORD, locale="ja", client_address="t",
                       user_agent="pytest")
    assert refused.value.code == "not_passed"


def test_two_attestations_of_one_edition_and_cycle_are_refused_by_the_database(app, trained):
    """The unique key is per person × edition × cycle; the old one (per person × edition) is gone."""
    from sqlalchemy.exc import IntegrityError

    first = trained["attestation"]
    attempt = QuizAttempt(person_id=first.person_id, manual_id=first.manual_id, edition_id=first.edition_id,
                          edition_number=1,
                          quiz_version_id=db.session.get(QuizAttempt, first.attempt_id).quiz_version_id,
                          mode="full", drawn_json="[]", question_count=0)
    db.session.add(attempt)
    db.session.flush()
    values = {"person_id": first.person_id, "manual_id": first.manual_id, "edition_id": first.edition_id,
              "edition_number": 1, "attempt_id": attempt.id, "edition_content_hash": "x", "statement_hash": "y",
              "statement_locale": "ja", "attested_at": MOMENT}
    db.session.add(Attestation(**values, cycle=0, verification_code="dup-cycle-0"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_answers_passed_before_the_revocation_are_not_offered_again(app, trained):
    from portal.training.loaders import learner_state

    _revoke(trained)
    state = learner_state(trained["person"], trained["manual"], datetime.now(timezone.utc), jst_today())
    assert state.attestation is None and state.passed_attempt is None and state.blocker is None


def test_the_api_for_people_says_the_same(app, trained):
    """The person's training as the training API gives it follows the revocation too."""
    person = trained["person"]
    _revoke(trained)
    rows = status_rows([person.id], None, jst_today())
    assert [(r.status, r.attested_edition_number) for r in rows] == [("in_progress", None)]


def test_revoking_twice_at_once_counts_once(app, trained):
    from portal.core.workflow import StepLost

    facts = certificate_by_id(trained["attestation"].id, jst_today())
    revoke_certificate(trained["admin"], facts, "他人のアカウントで受講していたため")
    db.session.commit()
    with pytest.raises(StepLost) as lost:
        revoke_certificate(trained["admin"], facts, "二度目の取消")
    assert lost.value.meanwhile.by.id == trained["admin"].id
    db.session.rollback()
