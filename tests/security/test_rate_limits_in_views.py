"""Limits live on the views that declare them; no per-request limiter pass (portal/core/rate_limits.py)."""
from __future__ import annotations

import pytest
from flask import Flask

from portal import create_app
from portal.core.rate_limits import limit_in_views_only
from portal.extensions import db, limiter
from portal.training.models import QuizAttempt
from tests.training_fixtures import answers_for, assign, make_manual


def test_the_limiter_no_longer_looks_at_every_request(app):
    assert all(getattr(hook, "__self__", None) is not limiter for hook in app.before_request_funcs[None])


def test_app_wide_limits_refuse_to_start_without_the_hook(tmp_path):
    with pytest.raises(RuntimeError, match="RATELIMIT_DEFAULT"):
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                    "RATELIMIT_DEFAULT": "100 per minute"})


def test_a_renamed_limiter_hook_is_noticed_at_start():
    bare = Flask(__name__)
    with pytest.raises(ValueError):
        limit_in_views_only(bare, limiter)  # the hook is not there: removing it fails loudly


def test_wrong_passwords_at_attestation_are_still_limited(make_person, login, flow):
    learner = make_person("E1001")
    login(learner)
    manual = make_manual()
    assign(learner, manual)
    attempt = db.session.get(QuizAttempt, flow.start(manual.slug))
    assert flow.submit(attempt, answers_for(attempt)).status_code == 303  # passed: the attestation form opens
    statuses = [flow.attest(manual.slug, "wrong password").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


def test_the_audit_chain_check_is_still_limited(client, make_person, login):
    login(make_person("A1", roles=("auditor",)))
    statuses = [client.get("/audit/verify").status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
