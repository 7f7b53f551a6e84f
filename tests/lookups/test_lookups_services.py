"""The look-up workflow through its services: each step, who may take it, the audit trail, nothing
half-saved on bad input."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from portal.access.services import revoke_grant
from portal.audit.models import AuditEvent
from portal.core.refusals import Refusal
from portal.core.workflow import StepLost
from portal.extensions import db
from portal.lookups.models import LookupEvent, LookupRequest
from portal.lookups.queries import grant_in_force
from portal.lookups.services import (
    LookupData,
    answer_lookup,
    decide_lookup_approval,
    expire_lookups,
    request_lookup,
    take_lookup,
    withdraw_lookup,
)
from tests.access_fixtures import PURPOSES, grant_for, train
from tests.lookups_fixtures import EXPLANATION, QUESTION, approved, ask, taken


def _actions(lookup_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "lookup_request", AuditEvent.object_id == str(lookup_id)).order_by(AuditEvent.seq)))


def _steps(lookup_id: int) -> list[tuple[str, str]]:
    return [(e.kind, e.status_after) for e in db.session.scalars(
        select(LookupEvent).where(LookupEvent.request_id == lookup_id).order_by(LookupEvent.id))]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_whole_way_writes_history_and_audit_events(lw):
    lookup = ask(lw)
    assert lookup.status == "awaiting_approval" and lookup.department_id == lw.requester.department_id
    decide_lookup_approval(lw.manager, lookup, True, "業務上必要と確認した。")
    take_lookup(lw.handler, lookup)
    answer_lookup(lw.handler, lookup, "契約一覧（光回線）を受付番号で確認", "契約あり（1回線）")
    db.session.commit()
    assert (lookup.status, lookup.approver_id, lookup.handler_id) == ("answered", lw.manager.id, lw.handler.id)
    assert lookup.answer == "契約あり（1回線）" and lookup.closed_at is not None
    assert _steps(lookup.id) == [("requested", "awaiting_approval"), ("approved", "awaiting_handler"),
                                 ("taken", "in_progress"), ("answered", "answered")]
    assert _actions(lookup.id) == ["lookup.requested", "lookup.approved", "lookup.taken", "lookup.answered"]
    answered = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lookup.answered"))
    assert answered.actor_label == "H1" and answered.details["checked"] == "契約一覧（光回線）を受付番号で確認"


def test_refusal_and_withdrawal_are_recorded(lw):
    refused = ask(lw)
    decide_lookup_approval(lw.manager, refused, False, "お客様への確認で足りる。")
    withdrawn = ask(lw, lw.colleague)
    withdraw_lookup(lw.colleague, withdrawn, "申込みが取り下げられた")
    db.session.commit()
    assert refused.status == "refused" and refused.decision_reason == "お客様への確認で足りる。"
    assert _actions(refused.id) == ["lookup.requested", "lookup.refused"]
    assert withdrawn.status == "withdrawn" and _actions(withdrawn.id) == ["lookup.requested", "lookup.withdrawn"]
    with pytest.raises(StepLost) as lost:
        take_lookup(lw.handler, refused)
    assert lost.value.meanwhile.state == "refused" and lost.value.meanwhile.by.id == lw.manager.id


@pytest.mark.parametrize("changes, field, code", [
    ({"explanation": ""}, "explanation", "explanation_empty"),
    ({"explanation": "。"}, "explanation", "explanation_empty"),
    ({"explanation": "確認のため"}, "explanation", "explanation_too_short"),
    ({"explanation": "ああああああああああああああああああああああ"}, "explanation", "explanation_repetitive"),
    ({"purpose": "なんとなく"}, "purpose", "purpose_unknown"),
    ({"question": "  "}, "question", "question_missing"),
    ({"question": "お客様 090-1234-5678 の契約を確認"}, "question", "phone"),
    ({"question": "taro@example.jp の契約"}, "question", "email"),
    ({"reference": "山田太郎"}, "reference", "reference_invalid"),
])
def test_bad_input_names_the_field_and_saves_nothing(lw, changes, field, code):
    data = LookupData(purpose=PURPOSES[0], explanation=EXPLANATION, question=QUESTION, reference="")
    for name, value in changes.items():
        setattr(data, name, value)
    before = _count(AuditEvent)
    with pytest.raises(Refusal) as error:
        request_lookup(lw.requester, lw.system, data)
    db.session.rollback()
    assert code in error.value.by_field()[field]
    assert _count(LookupRequest) == 0 and _count(AuditEvent) == before


def test_someone_whose_own_grant_is_in_force_is_told_to_look_it_up_themselves(lw):
    with pytest.raises(Refusal) as refusal:
        ask(lw, lw.handler)
    assert refusal.value.code == "has_access"


def test_nobody_approves_their_own_and_only_the_requesters_manager_approves(lw, make_person):
    lookup = ask(lw)
    for actor, code in ((lw.requester, "own_request"), (lw.outsider, "not_the_manager"),
                        (lw.back_manager, "not_the_manager")):
        with pytest.raises(Refusal) as refusal:
            decide_lookup_approval(actor, lookup, True, "業務上必要と確認した。")
        assert refusal.value.code == code
    with pytest.raises(Refusal) as error:
        decide_lookup_approval(lw.manager, lookup, True, "ok")
    assert error.value.by_field() == {"reason": ["reason_too_short"]}
    db.session.rollback()
    assert db.session.get(LookupRequest, lookup.id).status == "awaiting_approval"


def test_only_a_current_grant_holder_takes_and_never_their_own_or_one_they_approved(lw, make_person):
    lookup = approved(lw)
    for actor, code in ((lw.bystander, "no_grant_in_force"), (lw.requester, "own_request"),
                        (lw.manager, "approver_cannot_handle"), (lw.auditor, "no_grant_in_force")):
        with pytest.raises(Refusal) as refusal:
            take_lookup(actor, lookup)
        assert refusal.value.code == code
    # A manager whose own grant is in force still does not handle a look-up they approved.
    second = make_person("MB2", roles=("manager",), department=lw.access.back, manages=[lw.access.back])
    train(lw.back_manager, lw.access)
    grant_for(lw.access, lw.back_manager, approver=second)
    back = ask(lw, lw.bystander)
    decide_lookup_approval(lw.back_manager, back, True, "業務上必要と確認した。")
    db.session.commit()
    assert grant_in_force(lw.back_manager.id, lw.system.id)
    with pytest.raises(Refusal) as refusal:
        take_lookup(lw.back_manager, back)
    assert refusal.value.code == "approver_cannot_handle"
    take_lookup(lw.handler, back)  # someone else does
    db.session.commit()


def test_nobody_takes_before_approval(lw):
    lookup = ask(lw)
    with pytest.raises(Refusal) as refusal:
        take_lookup(lw.handler, lookup)
    assert refusal.value.code == "wrong_state"


def test_a_second_taker_loses(lw):
    lookup = taken(lw)
    with pytest.raises(StepLost) as lost:
        take_lookup(lw.handler2, lookup)
    assert lost.value.meanwhile.state == "in_progress" and lost.value.meanwhile.by.id == lw.handler.id
    db.session.rollback()
    assert db.session.get(LookupRequest, lookup.id).handler_id == lw.handler.id


def test_a_stale_copy_cannot_overwrite_the_winner(lw, app):
    """The loser read the request before the winner's UPDATE: the conditional UPDATE still refuses."""
    lookup = approved(lw)
    with db.engine.begin() as other:  # the winner, in another connection, first
        other.execute(text("UPDATE lookup_requests SET status = 'in_progress', handler_id = :h WHERE id = :i"),
                      {"h": lw.handler2.id, "i": lookup.id})
    with pytest.raises(StepLost) as lost:
        take_lookup(lw.handler, lookup)
    assert lost.value.meanwhile.state == "in_progress" and lost.value.meanwhile.by.id == lw.handler2.id


def test_only_the_taker_answers_and_only_while_their_grant_is_in_force(lw):
    lookup = taken(lw)
    with pytest.raises(Refusal) as refusal:
        answer_lookup(lw.handler2, lookup, "契約一覧", "契約あり")
    assert refusal.value.code == "not_the_handler"
    grant_id = db.session.scalar(text("SELECT id FROM access_grants WHERE person_id = :p"), {"p": lw.handler.id})
    from portal.access.models import AccessGrant

    revoke_grant(lw.access.owner, db.session.get(AccessGrant, grant_id), "異動のため権限を取り消す")
    db.session.commit()
    with pytest.raises(Refusal) as refusal:
        answer_lookup(lw.handler, lookup, "契約一覧", "契約あり")
    assert refusal.value.code == "no_grant_in_force"
    db.session.rollback()
    assert db.session.get(LookupRequest, lookup.id).status == "in_progress"


@pytest.mark.parametrize("checked, answer, field, code", [
    ("", "契約あり", "checked", "checked_missing"),
    ("契約一覧", "  ", "answer", "answer_missing"),
    ("契約一覧", "連絡先は 03-1234-5678", "answer", "phone"),
])
def test_answer_needs_what_was_checked_and_the_answer_without_personal_data(lw, checked, answer, field, code):
    lookup = taken(lw)
    with pytest.raises(Refusal) as error:
        answer_lookup(lw.handler, lookup, checked, answer)
    db.session.rollback()
    assert code in error.value.by_field()[field]
    assert db.session.get(LookupRequest, lookup.id).status == "in_progress"
    assert "lookup.answered" not in _actions(lookup.id)


def test_withdrawal_only_by_the_requester_and_only_before_someone_takes_it(lw):
    lookup = approved(lw)
    with pytest.raises(Refusal) as refusal:
        withdraw_lookup(lw.manager, lookup)
    assert refusal.value.code == "not_the_requester"
    take_lookup(lw.handler, lookup)
    db.session.commit()
    with pytest.raises(StepLost) as lost:
        withdraw_lookup(lw.requester, lookup)
    assert lost.value.meanwhile.state == "in_progress"


def test_waiting_requests_expire_and_say_so_when_acted_on(lw, clock):
    lookup = ask(lw)
    other = approved(lw)
    clock.advance(days=15)
    with pytest.raises(Refusal) as refusal:
        decide_lookup_approval(lw.manager, lookup, True, "業務上必要と確認した。")
    assert refusal.value.code == "request_expired"
    db.session.commit()
    assert lookup.status == "expired"
    assert expire_lookups() == 1
    db.session.commit()
    assert db.session.get(LookupRequest, other.id).status == "expired"
    assert _actions(other.id)[-1] == "lookup.expired"


def test_history_rows_are_append_only(lw):
    lookup = ask(lw)
    for statement in ("UPDATE lookup_events SET note = 'edited'", "DELETE FROM lookup_events"):
        with pytest.raises(Exception, match="immutable"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert _steps(lookup.id) == [("requested", "awaiting_approval")]


def test_the_database_refuses_self_handling_even_past_the_services(lw):
    lookup = approved(lw)
    with pytest.raises(Exception):
        db.session.execute(text("UPDATE lookup_requests SET handler_id = requester_id WHERE id = :i"), {"i": lookup.id})
        db.session.flush()
    db.session.rollback()


def test_managers_are_mailed_to_approve_and_requesters_when_answered(lw, app):
    from email import policy
    from email.parser import BytesParser
    from pathlib import Path

    folder = Path(app.config["PORTAL_MAIL_DIR"])
    before = set(folder.glob("*.eml")) if folder.exists() else set()
    lookup = taken(lw)
    answer_lookup(lw.handler, lookup, "契約一覧", "契約あり（1回線）")
    db.session.commit()
    mails = [BytesParser(policy=policy.default).parsebytes(p.read_bytes())
             for p in sorted(set(folder.glob("*.eml")) - before)]
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert any(s.startswith("【承認依頼】照会依頼") for s in subjects)
    assert any("回答されました" in s for s in subjects) and any("承認されました" in s for s in subjects)
    # The answer itself travels only in the portal, never by e-mail.
    assert all("契約あり（1回線）" not in m.get_body().get_content() for m in mails)
