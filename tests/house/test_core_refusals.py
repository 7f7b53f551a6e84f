"""The one refusal shape and the helper that puts it onto a form."""
from __future__ import annotations

from flask import get_flashed_messages
from flask_wtf import FlaskForm
from wtforms import StringField

from portal.core.refusals import Refusal, apply_refusal_to_form


class _Form(FlaskForm):
    class Meta:
        csrf = False

    reason = StringField()
    when = StringField()


def _words(code: str, **details) -> str:
    return {"too_short": "Too short.", "late": "Too late (%(days)s days)."}[code] % details


def test_collected_refusals_go_onto_their_fields_and_the_rest_becomes_a_notice(app):
    with app.test_request_context("/", method="POST"):
        form = _Form()
        refusal = Refusal.collected([Refusal("too_short", "reason"), Refusal("late", "when", days=3),
                                     Refusal("late", days=9), Refusal("x", "reason", message="Own words.")])
        apply_refusal_to_form(form, refusal, _words)
        assert form.reason.errors == ["Too short.", "Own words."]
        assert form.when.errors == ["Too late (3 days)."]
        assert get_flashed_messages(with_categories=True) == [("error", "Too late (9 days).")]
        assert refusal.by_field() == {"reason": ["too_short", "x"], "when": ["late"], None: ["late"]}


def test_a_field_the_form_already_marked_keeps_its_own_message_when_asked(app):
    with app.test_request_context("/", method="POST"):
        form = _Form()
        form.when.errors = ["Not a date."]
        form.reason.errors = ["Required."]
        refusal = Refusal.collected([Refusal("late", "when", days=1), Refusal("too_short", "reason")])
        apply_refusal_to_form(form, refusal, _words, keep_own_errors=["when"])
        assert form.when.errors == ["Not a date."]
        assert form.reason.errors == ["Required.", "Too short."]


def test_no_refusals_collect_to_none_and_an_unworded_code_still_says_no():
    assert Refusal.collected([]) is None
    assert Refusal("anything").text() == "This action is not allowed."
