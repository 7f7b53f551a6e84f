"""The password rules (a pure function) and what they say, in Japanese and English; the
password-change page applies them and audits a wrong current password."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth.password_rules import Holder, name_variants, password_problems, problem_messages
from portal.extensions import db
from tests.conftest import PASSWORD, csrf_token_from

TANAKA = Holder(employee_no="AG0001", name="田中 蓮", name_kana="たなか れん", email="ren.tanaka@tohoku-hanbai.example")


@pytest.mark.parametrize("password", ["kumo-sora-umi-yama-2026", "Bright lanterns drift over 9 rivers",
                                      "正しい馬と電池のホチキス留め"])
def test_good_passwords_pass(password):
    assert password_problems(password, TANAKA) == []


def test_eleven_characters_are_too_short_twelve_are_enough():
    assert password_problems("kX9#vL2$qR7", Holder()) == ["too_short"]
    assert password_problems("kX9#vL2$qR7!", Holder()) == []


def test_over_128_characters_is_refused_without_running_the_estimator():
    assert password_problems("a-long-unrelated-phrase " * 10, Holder()) == ["too_long"]


@pytest.mark.parametrize("password", ["my-AG0001-password-x", "my-ag0001-password-x", "my-ＡＧ０００１-password-x"])
def test_the_employee_number_is_refused_in_any_case_or_width(password):
    assert password_problems(password, TANAKA) == ["contains_employee_no"]


@pytest.mark.parametrize("password",
                         ["田中蓮のパスワードです2026", "田中 の空と海と山と川", "tanaka-たなかれん-sky-river",
                                      "れんのそらとうみとやまとかわ", "タナカのそらとうみとやまとかわ"])
def test_the_name_with_or_without_spaces_and_its_reading_are_refused(password):
    assert "contains_name" in password_problems(password, TANAKA)


def test_name_variants_cover_parts_joined_and_both_kana_but_not_single_characters():
    variants = name_variants(TANAKA)
    assert {"田中", "田中蓮", "たなか", "タナカ", "たなかれん", "タナカレン", "れん", "レン"} <= variants
    assert "蓮" not in variants  # one character would forbid too many ordinary words


def test_a_guessable_password_is_too_weak():
    assert password_problems("password1234", Holder()) == ["too_weak"]
    assert password_problems("aaaaaaaaaaaaaaaa", Holder()) == ["too_weak"]


def test_the_estimator_knows_the_persons_e_mail():
    assert password_problems("ren.tanaka2026!", Holder()) == []
    assert password_problems("ren.tanaka2026!", TANAKA) == ["too_weak"]
    assert password_problems("ren.tanaka@tohoku-hanbai.example", TANAKA) == ["too_weak"]


def test_several_broken_rules_are_all_named():
    assert password_problems("AG0001田中", TANAKA) == ["too_short", "contains_employee_no", "contains_name"]


def test_messages_say_which_rule_failed_in_japanese_and_english(app):
    problems = ["too_short", "contains_employee_no", "contains_name", "too_weak"]
    with app.test_request_context(), force_locale("ja"):
        assert problem_messages(problems) == [
            "12文字以上にしてください。", "パスワードに社員番号を含めないでください。",
            "パスワードに氏名（読みがなを含む）を含めないでください。",
            "推測されやすいパスワードです。長くするか、関係のない単語をいくつか組み合わせてください。"]
    with app.test_request_context(), force_locale("en"):
        assert problem_messages(["too_short"]) == ["Use at least 12 characters."]


def _change(client, current: str, new: str):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new, "confirm_password": new,
        "csrf_token": csrf_token_from(client, "/account/password")})


def test_the_password_change_page_applies_the_rules_under_the_field(client, make_person, login):
    person = make_person("AG0002", name="吉田 葵", name_kana="よしだ あおい")
    login(person)
    response = _change(client, PASSWORD, "yoshida-AG0002-2026")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="new_password-error"' in page and "パスワードに社員番号を含めないでください。" in page
    assert "パスワードに氏名（読みがなを含む）を含めないでください。" not in page  # "yoshida" is romaji, not the name
    db.session.refresh(person)
    assert person.session_version == 1  # nothing changed


def test_a_wrong_current_password_is_refused_and_audited(client, make_person, login):
    person = make_person("AG0003")
    login(person)
    response = _change(client, "not-my-password", "kumo-sora-umi-yama-2026")
    assert response.status_code == 400
    assert 'id="current_password-error"' in response.get_data(as_text=True)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.password_check_failed")).one()
    assert event.object_id == "AG0003" and event.actor_id == person.id
