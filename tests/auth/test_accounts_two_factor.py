"""Two-factor sign-in for privileged roles: enrolment with a QR code, TOTP codes (never twice),
recovery codes (each once), wrong codes throttled and audited, an admin resets another person's
second factor (never their own), and the demo setting that relaxes it."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth.account_links import invite_person
from portal.auth.models import RecoveryCode, TwoFactor
from portal.auth.two_factor import enrol_second_factor, new_secret
from portal.extensions import db
from portal.org.models import PersonRole
from tests.accounts_fixtures import code_at, link_path, post_form, recovery_codes_from, secret_from, set_password
from tests.conftest import _csrf_token, https_client, sign_in


@pytest.fixture
def app_overrides() -> dict:
    """Production behaviour: the second factor is always asked for."""
    return {"PORTAL_DEMO_RELAX_2FA": False}


def _code(browser, code: str, path: str = "/login/two-factor"):
    return post_form(browser, path, {"code": code})


def _enrolled(person, clock) -> str:
    """Enrol the person directly (as the enrolment page does) and return the secret."""
    secret = new_secret()
    enrol_second_factor(person, secret, code_at(secret, clock.now))
    db.session.commit()
    clock.advance(seconds=30)  # the enrolment code's step is used up
    return secret


def _actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_an_employee_signs_in_with_the_password_alone(app, client, make_person):
    person = make_person("E1")
    response = sign_in(client, person)
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_enrolment_shows_a_qr_code_confirms_a_code_and_shows_recovery_codes_once(app, client, clock, make_person):
    admin = make_person("S1", roles=("admin",))
    response = sign_in(client, admin)
    assert response.headers["Location"] == "/login/two-factor"
    assert client.get("/").status_code == 302  # not signed in yet
    assert client.get("/login/two-factor").headers["Location"] == "/login/two-factor/enrol"
    page = client.get("/login/two-factor/enrol").get_data(as_text=True)
    assert '<img class="qr-code" src="data:image/png;base64,' in page
    secret = secret_from(page)
    assert secret == secret_from(client.get("/login/two-factor/enrol").get_data(as_text=True))  # a reload keeps it
    assert db.session.get(TwoFactor, admin.id) is None  # nothing stored before the first code

    wrong = _code(client, "000000", "/login/two-factor/enrol")
    assert wrong.status_code == 401 and "コードが正しくありません" in wrong.get_data(as_text=True)
    done = _code(client, code_at(secret, clock.now), "/login/two-factor/enrol")
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "表示されるのはこの1回だけです" in page
    codes = recovery_codes_from(page)
    assert len(set(codes)) == 10
    assert client.get("/audit/").status_code == 200  # signed in, as an admin
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.person_id == admin.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # kept only as hashes
    assert db.session.get(TwoFactor, admin.id).secret == secret
    assert [e.object_id for e in _actions("auth.second_factor_enrolled")] == ["S1"]

    # The next sign-in asks for a code, and the enrolment page is no longer offered.
    browser = https_client(app)
    sign_in(browser, admin)
    assert browser.get("/login/two-factor/enrol").headers["Location"] == "/login/two-factor"


def test_an_invited_admin_sets_a_password_then_sets_up_the_second_factor(app, client, clock, make_person, mailbox):
    person = make_person("S2", roles=("admin",))
    person.password_hash = ""
    db.session.commit()
    invite_person(make_person("S1", roles=("admin",)), person)
    db.session.commit()
    response = set_password(client, link_path(mailbox.messages[0]))
    assert response.headers["Location"] == "/login/two-factor"
    assert client.get("/").status_code == 302  # the password alone does not sign an admin in
    enrol = client.get("/login/two-factor/enrol")
    assert "続いて、ログインの2段階目（認証アプリ）を設定してください。" in enrol.get_data(as_text=True)
    secret = secret_from(enrol.get_data(as_text=True))
    assert _code(client, code_at(secret, clock.now), "/login/two-factor/enrol").status_code == 200
    assert client.get("/audit/").status_code == 200


def test_sign_in_with_a_totp_code_and_a_replayed_code_is_refused(app, clock, make_person):
    auditor = make_person("A1", roles=("auditor",))
    secret = _enrolled(auditor, clock)
    first = https_client(app)
    sign_in(first, auditor)
    code = code_at(secret, clock.now)
    response = _code(first, code)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert first.get("/audit/").status_code == 200

    thief = https_client(app)  # someone who saw the password and the code being typed
    sign_in(thief, auditor)
    replayed = _code(thief, code)
    assert replayed.status_code == 401 and "このコードは使用済みです" in replayed.get_data(as_text=True)
    assert thief.get("/audit/").status_code == 302
    clock.advance(seconds=30)
    assert _code(thief, code_at(secret, clock.now)).status_code == 302  # the next step's code works
    assert [e.details_json for e in _actions("auth.second_factor_failed")] == ['{"why": "replayed"}']


def test_codes_of_the_neighbouring_steps_are_accepted_but_not_older_ones(app, clock, make_person):
    owner = make_person("G1", roles=("grant_owner",))
    secret = _enrolled(owner, clock)
    clock.advance(minutes=5)
    browser = https_client(app)
    sign_in(browser, owner)
    stale = code_at(secret, clock.now - timedelta(seconds=60))
    assert _code(browser, stale).status_code == 401
    drifted = code_at(secret, clock.now - timedelta(seconds=30))
    assert _code(browser, drifted).status_code == 302
    ahead = https_client(app)
    sign_in(ahead, owner)
    assert _code(ahead, code_at(secret, clock.now + timedelta(seconds=30))).status_code == 302


def test_a_wrong_code_is_refused_audited_and_throttled(app, clock, make_person):
    admin = make_person("S1", roles=("training_admin",))
    secret = _enrolled(admin, clock)
    browser = https_client(app)
    sign_in(browser, admin)
    statuses = [_code(browser, f"{n:06d}").status_code for n in range(11)]
    assert statuses == [401] * 10 + [429]
    assert _code(browser, code_at(secret, clock.now)).status_code == 429  # even the right code waits
    assert len(_actions("auth.second_factor_failed")) == 10
    assert browser.get("/").status_code == 302


def test_a_recovery_code_works_once(app, client, clock, make_person):
    admin = make_person("S1", roles=("admin",))
    sign_in(client, admin)
    client.get("/login/two-factor/enrol")
    secret = secret_from(client.get("/login/two-factor/enrol").get_data(as_text=True))
    codes = recovery_codes_from(_code(client, code_at(secret, clock.now), "/login/two-factor/enrol")
                                .get_data(as_text=True))
    browser = https_client(app)
    sign_in(browser, admin)
    used = _code(browser, codes[3].upper().replace("-", " "))  # as typed from paper
    assert used.status_code == 302
    assert "残りのリカバリーコード: 9 個" in browser.get("/").get_data(as_text=True)
    again = https_client(app)
    sign_in(again, admin)
    assert _code(again, codes[3]).status_code == 401
    assert _code(again, codes[4]).status_code == 302
    assert [e.details_json for e in _actions("auth.recovery_code_used")] == [
        '{"recovery_codes_left": 9}', '{"recovery_codes_left": 8}']


def test_the_second_step_expires_and_is_not_a_sign_in(app, client, clock, make_person):
    admin = make_person("S1", roles=("admin",))
    secret = _enrolled(admin, clock)
    sign_in(client, admin)
    clock.advance(minutes=11)
    response = client.get("/login/two-factor")
    assert response.status_code == 200 and "もう一度ログインしてください" in response.get_data(as_text=True)
    assert _code(client, code_at(secret, clock.now)).status_code == 200  # the same page: start again
    assert client.get("/").status_code == 302
    fresh = https_client(app)
    assert "もう一度ログインしてください" in fresh.get("/login/two-factor").get_data(as_text=True)


def test_deactivation_during_the_second_step_stops_it(app, client, clock, make_person):
    admin = make_person("S1", roles=("admin",))
    secret = _enrolled(admin, clock)
    sign_in(client, admin)
    admin.active = False
    db.session.commit()
    _code(client, code_at(secret, clock.now))
    assert client.get("/").status_code == 302


def _reset(browser, person):
    return post_form(browser, f"/accounts/people/{person.id}/two-factor/reset", {}, page=f"/org/people/{person.id}")


def _signed_in_admin(app, admin, secret, clock):
    browser = https_client(app)
    sign_in(browser, admin)
    clock.advance(seconds=30)
    assert _code(browser, code_at(secret, clock.now)).status_code == 302
    return browser


def test_an_admin_resets_another_persons_second_factor_but_never_their_own(app, clock, make_person):
    admin = make_person("S1", roles=("admin",))
    other = make_person("A1", roles=("auditor",))
    admin_secret = _enrolled(admin, clock)
    _enrolled(other, clock)
    other_browser = https_client(app)
    sign_in(other_browser, other)
    browser = _signed_in_admin(app, admin, admin_secret, clock)

    own = _reset(browser, admin)
    assert own.status_code == 403 and "自分の2段階認証はリセットできません" in own.get_data(as_text=True)
    assert db.session.get(TwoFactor, admin.id) is not None
    assert "2段階認証をリセットする" not in browser.get(f"/org/people/{admin.id}").get_data(as_text=True)

    assert "2段階認証をリセットする" in browser.get(f"/org/people/{other.id}").get_data(as_text=True)
    done = _reset(browser, other)
    assert done.status_code == 302
    assert "2段階認証をリセットしました" in browser.get(done.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(TwoFactor, other.id) is None
    assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.person_id == other.id)).all() == []
    [event] = _actions("auth.second_factor_reset")
    assert (event.actor_label, event.object_id) == ("S1", "A1")
    # Their next sign-in enrols again.
    again = https_client(app)
    sign_in(again, other)
    assert again.get("/login/two-factor").headers["Location"] == "/login/two-factor/enrol"


def test_only_admins_reset_second_factors(app, clock, make_person):
    auditor = make_person("A1", roles=("auditor",))
    target = make_person("G1", roles=("grant_owner",))
    _enrolled(target, clock)
    browser = _signed_in_admin(app, auditor, _enrolled(auditor, clock), clock)
    assert _reset(browser, target).status_code in (400, 403)
    assert db.session.get(TwoFactor, target.id) is not None


def test_a_person_given_a_privileged_role_mid_session_must_sign_in_again(app, client, clock, make_person):
    person = make_person("E1")
    sign_in(client, person)
    assert client.get("/").status_code == 200
    db.session.add(PersonRole(person_id=person.id, role="auditor"))
    db.session.commit()
    response = client.get("/audit/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("app_overrides", [{"PORTAL_DEMO_RELAX_2FA": True}])
def test_the_demo_setting_lets_people_without_a_second_factor_skip_it(app, client, clock, make_person, app_overrides):
    admin = make_person("S1", roles=("admin",))
    assert sign_in(client, admin).headers["Location"] == "/"
    assert client.get("/audit/").status_code == 200
    enrolled = make_person("S2", roles=("admin",))
    _enrolled(enrolled, clock)
    browser = https_client(app)
    assert sign_in(browser, enrolled).headers["Location"] == "/login/two-factor"  # enrolled: always asked


def test_the_setting_is_off_unless_the_environment_says_so(monkeypatch, tmp_path):
    from portal.config import load_config

    monkeypatch.delenv("PORTAL_DEMO_RELAX_2FA", raising=False)
    assert load_config(tmp_path)["PORTAL_DEMO_RELAX_2FA"] is False
    monkeypatch.setenv("PORTAL_DEMO_RELAX_2FA", "1")
    assert load_config(tmp_path)["PORTAL_DEMO_RELAX_2FA"] is True


def test_one_code_sent_twenty_times_at_once_signs_in_once(app, clock, make_person):
    admin = make_person("S1", roles=("admin",))
    secret = _enrolled(admin, clock)
    browser = https_client(app)
    sign_in(browser, admin)
    token = _csrf_token(browser.get("/login/two-factor").get_data(as_text=True))
    cookie = browser.get_cookie("portal_session").value
    code = code_at(secret, clock.now)
    barrier, codes, lock = threading.Barrier(20), [], threading.Lock()

    def worker():
        copy = https_client(app)
        copy.set_cookie("portal_session", cookie, domain="localhost")
        barrier.wait()
        response = copy.post("/login/two-factor", data={"code": code, "csrf_token": token})
        response.close()
        with lock:
            codes.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert codes.count(302) == 1 and set(codes) <= {302, 401, 429}
    assert db.session.get(TwoFactor, admin.id).last_used_step is not None
