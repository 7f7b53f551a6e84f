"""decide_access: every reason code, combinations and the boundaries of time (no app, no database)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from portal.access.decision import (
    REASON_CODES,
    AccessFacts,
    Decision,
    GrantFact,
    TrainingFact,
    decide_access,
    end_of_day_jst,
    grant_state_for,
    suspension_codes,
    training_counts_until,
    training_lapsed_at,
)
from portal.access.rules import (
    cap_allows,
    cap_limit,
    conflict_of_interest,
    effective_request_status,
)
from portal.approvals.rules import explanation_problem, reason_problem

NOW = datetime(2026, 4, 10, 3, 0, tzinfo=timezone.utc)  # 2026-04-10 12:00 JST
LATER = NOW + timedelta(days=60)
CURRENT = TrainingFact("partner-data", "current")


def facts(grant="live", active=True, training=(CURRENT,), review_deadline=None, known=True):
    grant_fact = {
        "live": GrantFact(revoked=False, expires_at=LATER, review_deadline=review_deadline),
        "revoked": GrantFact(revoked=True, expires_at=LATER),
        "expired": GrantFact(revoked=False, expires_at=NOW - timedelta(seconds=1)),
        None: None,
    }[grant]
    return AccessFacts(person_known=known, person_active=active, grant=grant_fact, training=tuple(training))


def test_everything_in_order_allows_until_the_grant_expires():
    decision = decide_access(facts(), NOW)
    assert decision == Decision(True, (), LATER)


def test_unknown_person_is_the_only_reason():
    assert decide_access(facts(known=False, grant=None, active=False),
                         NOW) == Decision(False, ("unknown_person",), None)


@pytest.mark.parametrize("grant, code",
                         [(None, "no_grant"), ("revoked", "grant_revoked"), ("expired", "grant_expired")])
def test_missing_revoked_or_expired_grant(grant, code):
    decision = decide_access(facts(grant=grant), NOW)
    assert not decision.allow and decision.reasons == (code,)


def test_expiry_is_exclusive_at_the_exact_moment():
    grant = GrantFact(revoked=False, expires_at=NOW)
    assert decide_access(AccessFacts(True, True, grant, (CURRENT,)), NOW - timedelta(microseconds=1)).allow
    assert decide_access(AccessFacts(True, True, grant, (CURRENT,)), NOW).reasons == ("grant_expired",)


def test_inactive_person_suspends_a_live_grant():
    decision = decide_access(facts(active=False), NOW)
    assert decision.reasons == ("person_inactive", "grant_suspended")


@pytest.mark.parametrize("status", ["not_started", "in_progress", "overdue", "expired", "not_required"])
def test_training_that_does_not_count_names_the_manual(status):
    decision = decide_access(facts(training=[TrainingFact("partner-data", status, date(2026, 4, 30))]), NOW)
    assert decision.reasons == ("grant_suspended", "training_not_current:partner-data")


def test_every_lapsed_manual_is_listed_sorted_once():
    training = [TrainingFact("zeta", "overdue"), TrainingFact("alpha", "not_started"), CURRENT]
    decision = decide_access(facts(training=training), NOW)
    assert decision.reasons == ("grant_suspended", "training_not_current:alpha", "training_not_current:zeta")


def test_due_training_counts_until_the_end_of_its_due_date_in_japan():
    due = TrainingFact("partner-data", "due", due_date=date(2026, 4, 20))
    end = datetime(2026, 4, 20, 15, 0, tzinfo=timezone.utc)  # 2026-04-21 00:00 JST
    assert end_of_day_jst(date(2026, 4, 20)) == end
    allowed = decide_access(facts(training=[due]), NOW)
    assert allowed.allow and allowed.valid_until == end
    assert decide_access(facts(training=[due]), end - timedelta(microseconds=1)).allow
    assert decide_access(facts(training=[due]), end).reasons == ("grant_suspended", "training_not_current:partner-data")


def test_current_training_with_validity_counts_through_its_last_day():
    valid = TrainingFact("partner-data", "current", valid_until=date(2026, 4, 15))
    assert decide_access(facts(training=[valid]), NOW).valid_until == end_of_day_jst(date(2026, 4, 15))
    assert not decide_access(facts(training=[valid]), end_of_day_jst(date(2026, 4, 15))).allow


def test_due_training_also_stops_at_its_validity_end_when_that_comes_first():
    fact = TrainingFact("m", "due", due_date=date(2026, 4, 30), valid_until=date(2026, 4, 12))
    assert training_counts_until(fact) == end_of_day_jst(date(2026, 4, 12))


def test_due_without_a_due_date_does_not_count():
    assert not decide_access(facts(training=[TrainingFact("m", "due")]), NOW).allow


def test_review_deadline_bounds_the_answer_then_suspends():
    deadline = NOW + timedelta(days=7)
    pending = decide_access(facts(review_deadline=deadline), NOW)
    assert pending.allow and pending.valid_until == deadline
    missed = decide_access(facts(review_deadline=deadline), deadline)
    assert missed.reasons == ("grant_suspended", "review_missed")


def test_review_missed_is_not_reported_without_a_live_grant():
    assert decide_access(AccessFacts(True, True, GrantFact(True, LATER, NOW), (CURRENT,)),
                         NOW).reasons == ("grant_revoked",)


def test_combination_keeps_a_fixed_order():
    deadline = NOW - timedelta(days=1)
    decision = decide_access(facts(active=False, review_deadline=deadline,
                                   training=[TrainingFact("b", "overdue"), TrainingFact("a", "expired")]), NOW)
    assert decision.reasons == ("person_inactive", "grant_suspended", "review_missed",
                                "training_not_current:a", "training_not_current:b")


def test_training_reasons_are_given_without_a_grant_too():
    decision = decide_access(facts(grant=None, training=[TrainingFact("m", "not_started")]), NOW)
    assert decision.reasons == ("no_grant", "training_not_current:m")


def test_valid_until_is_the_earliest_time_rule():
    soon = TrainingFact("a", "current", valid_until=date(2026, 4, 11))
    later = TrainingFact("b", "due", due_date=date(2026, 4, 25))
    decision = decide_access(facts(training=[later, soon], review_deadline=NOW + timedelta(days=3)), NOW)
    assert decision.valid_until == end_of_day_jst(date(2026, 4, 11))


def test_a_deny_can_still_change_by_time():
    # No grant, but current training that will lapse: the reasons change then.
    fact = TrainingFact("a", "current", valid_until=date(2026, 4, 11))
    assert decide_access(facts(grant=None, training=[fact]), NOW).valid_until == end_of_day_jst(date(2026, 4, 11))


def test_no_time_rule_means_no_valid_until():
    assert decide_access(facts(grant=None), NOW).valid_until is None


def test_every_code_is_documented():
    produced = set()
    for f in (facts(known=False), facts(grant=None, active=False), facts(grant="revoked"), facts(grant="expired"),
              facts(review_deadline=NOW, training=[TrainingFact("m", "overdue")]),
              AccessFacts(True, grant=GrantFact(False, LATER, transfer_pending=True)),
              AccessFacts(True, grant=GrantFact(False, LATER, waiting_for_room=True))):
        produced |= {code.partition(":")[0] for code in decide_access(f, NOW).reasons}
    assert produced == set(REASON_CODES)


def test_a_move_suspends_and_a_grant_waiting_for_room_is_not_in_force_but_may_come_in():
    moved = decide_access(AccessFacts(True, grant=GrantFact(False, LATER, transfer_pending=True)), NOW)
    assert moved.reasons == ("grant_suspended", "transfer_unconfirmed")
    assert grant_state_for("in_force", moved) == "suspended" and suspension_codes(moved.reasons) == (
        "transfer_unconfirmed",)
    waiting = decide_access(AccessFacts(True, grant=GrantFact(False, LATER, waiting_for_room=True)), NOW)
    assert waiting == Decision(False, ("waiting_for_room",), LATER)
    assert grant_state_for("waiting_for_room", waiting) == "in_force"  # a candidate: the cap decides
    lapsed = decide_access(AccessFacts(True, grant=GrantFact(False, LATER, waiting_for_room=True),
                                       training=(TrainingFact("m", "overdue"),)), NOW)
    assert "waiting_for_room" not in lapsed.reasons and grant_state_for("waiting_for_room", lapsed) == "suspended"


def test_grant_state_follows_the_decision_but_final_states_stay():
    allow, deny = Decision(True, (), None), Decision(False, ("grant_suspended", "review_missed"), None)
    assert grant_state_for("suspended", allow) == "in_force"
    assert grant_state_for("in_force", deny) == "suspended"
    assert grant_state_for("in_force", Decision(False, ("grant_expired",), None)) == "expired"
    assert grant_state_for("revoked", allow) == "revoked"
    assert grant_state_for("expired", allow) == "expired"
    assert suspension_codes(deny.reasons) == ("review_missed",)


def test_lapse_moments():
    assert training_lapsed_at(TrainingFact("m", "overdue",
                                           due_date=date(2026, 4, 1))) == end_of_day_jst(date(2026, 4, 1))
    assert training_lapsed_at(TrainingFact("m", "expired",
                                           valid_until=date(2026, 3, 1))) == end_of_day_jst(date(2026, 3, 1))
    assert training_lapsed_at(TrainingFact("m", "not_started")) is None
    assert training_lapsed_at(TrainingFact("m", "current")) is None


@pytest.mark.parametrize("text, problem", [
    (".", "explanation_empty"),
    ("   。、！？  ", "explanation_empty"),
    ("確認のため", "explanation_too_short"),
    ("ああああああああああああああああああああああ", "explanation_repetitive"),
    ("abababababababababababab", "explanation_repetitive"),
    ("付加サービスの申込み受付時に光回線の契約有無を確認するため", None),
    ("To check the fibre contract when a subscriber applies", None),
])
def test_what_counts_as_an_explanation(text, problem):
    assert explanation_problem(text) == problem


def test_full_width_digits_and_letters_count():
    assert explanation_problem("ＡＢＣＤＥＦＧＨＩＪ１２３４５６７８９０") is None


def test_reasons_need_a_few_letters():
    assert reason_problem("...") == "reason_too_short"
    assert reason_problem("業務上必要") is None


@pytest.mark.parametrize("in_force, headcount, cap, allowed", [
    (0, 10, None, True), (0, 10, 13, True), (1, 10, 13, False), (12, 23, 52, False), (10, 23, 52, True),
    (0, 5, 0, False), (99, 100, 100, True), (100, 100, 100, False),
])
def test_caps_round_down(in_force, headcount, cap, allowed):
    assert cap_allows(in_force, headcount, cap) is allowed


def test_cap_limit():
    assert cap_limit(23, 52) == 11 and cap_limit(15, 90) == 13 and cap_limit(13, 13) == 1


def test_request_expiry_is_seen_at_once():
    expires = NOW
    assert effective_request_status("awaiting_approval", expires, NOW - timedelta(seconds=1)) == "awaiting_approval"
    assert effective_request_status("awaiting_grant", expires, NOW) == "expired"
    assert effective_request_status("granted", expires, LATER) == "granted"


def test_conflicts_of_interest():
    assert conflict_of_interest(1, 1, None) == "own_request"
    assert conflict_of_interest(2, 1, 2) == "approver_cannot_grant"
    assert conflict_of_interest(3, 1, 2) is None
