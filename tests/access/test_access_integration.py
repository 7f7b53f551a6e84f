"""Other features keep access decisions true in their own transactions: attesting, publishing, HR sync."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from portal.access.decision import end_of_day_jst
from portal.access.models import AccessDecision, AccessGrant
from portal.access.refresh import refresh_access_decisions
from portal.access.systems import SystemData, save_system
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.manuals.models import Manual, TrainingAssignment
from portal.training.models import QuizAttempt
from portal.training.status import jst_today
from tests.access_fixtures import EXPLANATION, PURPOSES  # noqa: F401
from tests.conftest import PASSWORD
from tests.manuals_fixtures import manual_text, run_publish
from tests.org_fixtures import hr_file, row, run_import, write
from tests.training_fixtures import add_edition, answers_for, assign, make_manual, quiz_spec


def _decision(system, person) -> AccessDecision:
    db.session.expire_all()
    return db.session.get(AccessDecision, (system.id, person.id))


def _system(admin, slug: str, owner_no: str = "G1"):
    system = save_system(admin, SystemData(code="customer-info", name_ja="顧客情報管理システム", purposes=PURPOSES,
                                           manual_slugs=[slug], grant_owner_nos=[owner_no]))
    db.session.commit()
    return system


def _grant(system, person, manager, owner):
    from portal.access.services import GrantDecision, decide_approval, decide_grant, request_access

    request = request_access(person, system, PURPOSES[0], EXPLANATION)
    decide_approval(manager, request, True, "業務上必要と確認")
    outcome = decide_grant(owner, request, GrantDecision(True, "研修修了を確認", days=90))
    db.session.commit()
    assert outcome.grant is not None, outcome.refused_reasons
    return outcome.grant


def test_retraining_in_the_training_pages_brings_a_suspended_grant_back(client, login, flow, make_person,
                                                                          make_department):
    front = make_department("CUST-FRONT")
    person = make_person("E1", department=front, name="髙橋 優子")
    manager = make_person("M1", roles=("manager",), department=front, manages=[front])
    owner = make_person("G1", roles=("grant_owner",), department=front)
    admin = make_person("S1", roles=("admin",), department=front)
    manual = make_manual()
    assign(person, manual)
    login(person)
    attempt_id = flow.start(manual.slug)
    attempt = db.session.get(QuizAttempt, attempt_id)
    assert flow.submit(attempt, answers_for(attempt)).status_code == 303
    assert flow.attest(manual.slug, PASSWORD).status_code == 303
    system = _system(admin, manual.slug)
    grant = _grant(system, person, manager, owner)
    assert _decision(system, person).allow

    # A material edition whose due date has already passed (as for a late joiner): suspended.
    second = add_edition(manual, 2, spec=quiz_spec())
    assign(person, manual, due=jst_today() - timedelta(days=1), edition=second)
    refresh_access_decisions()
    db.session.commit()
    assert json.loads(_decision(system, person).reasons_json) == [
        "grant_suspended", f"training_not_current:{manual.slug}"]

    # Re-training through the pages: the attestation service refreshes the decision itself.
    attempt_id = flow.start(manual.slug)
    db.session.expire_all()
    attempt = db.session.get(QuizAttempt, attempt_id)
    assert flow.submit(attempt, answers_for(attempt)).status_code == 303
    assert flow.attest(manual.slug, PASSWORD).status_code == 303
    assert _decision(system, person).allow
    assert db.session.get(AccessGrant, grant.id).state == "in_force"


def test_publishing_a_material_edition_moves_valid_until_to_the_new_due_date(app, repo, make_person,
                                                                               make_department):
    from portal.training.models import TrainingProgress

    front = make_department("CUST-FRONT")
    person = make_person("E1", department=front)
    manager = make_person("M1", roles=("manager",), department=front, manages=[front])
    owner = make_person("G1", roles=("grant_owner",), department=front)
    admin = make_person("S1", roles=("admin",), department=front)
    repo.standard("handbook", effective_date="2026-01-01")
    assert run_publish(app, repo).exit_code == 0
    manual = db.session.scalar(select(Manual).where(Manual.slug == "handbook"))
    db.session.add(TrainingProgress(person_id=person.id, manual_id=manual.id, attested_edition_id=manual.editions[0].id,
                                    attested_edition_number=1,
                                    attested_at=utcnow()))  # the test's clock, not the database's
    db.session.commit()
    system = _system(admin, "handbook")
    grant = _grant(system, person, manager, owner)
    assert _decision(system, person).recheck_at == grant.expires_at

    repo.write_manual("handbook.md", manual_text("handbook", edition=2, effective_date="2026-01-01",
                                                 summary="規則を改めた", days_allowed=10))
    assert run_publish(app, repo).exit_code == 0
    due = db.session.get(TrainingAssignment, (person.id, manual.id)).due_date
    decision = _decision(system, person)
    assert decision.allow and decision.recheck_at == end_of_day_jst(due)  # no lock-out on publishing day


def test_hr_sync_deactivation_suspends_the_grant(app, tmp_path, make_person, make_department):
    front = make_department("CUST-FRONT", "お客様フロント部")
    person = make_person("E1", department=front)
    manager = make_person("M1", roles=("manager",), department=front, manages=[front])
    owner = make_person("G1", roles=("grant_owner",), department=front)
    admin = make_person("S1", roles=("admin",), department=front)
    manual = make_manual()
    from portal.training.models import TrainingProgress

    assign(person, manual)
    db.session.add(TrainingProgress(person_id=person.id, manual_id=manual.id, attested_edition_id=manual.editions[0].id,
                                    attested_edition_number=1,
                                    attested_at=utcnow()))  # the test's clock, not the database's
    db.session.commit()
    system = _system(admin, manual.slug)
    _grant(system, person, manager, owner)
    csv_path = write(tmp_path, hr_file(row("E1", department="CUST-FRONT", department_name="お客様フロント部",
                                           email="p@example.co.jp", active="0")))
    result = run_import(app, csv_path)
    assert result.exit_code == 0, result.output
    # A leaver also loses their assignments, so their training no longer counts either.
    assert json.loads(_decision(system, person).reasons_json)[:2] == ["person_inactive", "grant_suspended"]
    assert db.session.scalars(select(AccessGrant)).one().state == "suspended"
