"""SECURITY.md row 1: password guessing is throttled per account and per client, a spoofed
X-Forwarded-For changes nothing, and throttling cannot lock the real owner out for good."""
from __future__ import annotations

import time
import uuid

import limits.storage.memory
import pytest

from portal.auth import services as auth_services
from portal.auth.views import KNOWN_DEVICE_COOKIE
from tests.conftest import PASSWORD, _csrf_token, https_client

ATTACKER = "198.51.100.7"
OWNER = "203.0.113.20"
THROTTLED = "試行回数が多すぎます"
WINDOW = 15 * 60


class ShiftedClock:
    """time.time() as the rate-limit memory store sees it, movable forward."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch) -> ShiftedClock:
    shifted = ShiftedClock()
    monkeypatch.setattr(limits.storage.memory, "time", shifted)
    return shifted


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch):
    """A plain comparison instead of argon2 (deliberately slow): the limits are under test here,
    the hashing is tested with the real argon2 in tests/auth/test_auth.py."""
    monkeypatch.setattr(auth_services, "check_password", lambda stored, given: bool(stored) and given == PASSWORD)


def _client_at(app, address: str):
    browser = https_client(app)
    browser.environ_base["REMOTE_ADDR"] = address
    browser.token = _csrf_token(browser.get("/login").get_data(as_text=True))
    return browser


def _attempt(browser, employee_no: str, password: str, forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = browser.post("/login", headers=headers, data={
        "employee_no": employee_no, "password": password, "csrf_token": browser.token})
    response.close()
    return response


def test_twenty_wrong_passwords_from_one_address_are_throttled_in_japanese(app, make_person):
    make_person("E1")
    attacker = _client_at(app, ATTACKER)
    statuses = [_attempt(attacker, "E1", f"guess-{n}").status_code for n in range(20)]
    assert statuses == [401] * 10 + [429] * 10
    response = _attempt(attacker, "E1", PASSWORD)  # even the right password waits out the window
    assert response.status_code == 429
    assert THROTTLED in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "object-src 'none'" in response.headers["Content-Security-Policy"]
    assert attacker.get("/").status_code == 302


def test_rotating_x_forwarded_for_without_a_trusted_proxy_changes_nothing(app, make_person):
    assert app.config["PORTAL_TRUSTED_PROXIES"] == 0
    make_person("E1")
    attacker = _client_at(app, ATTACKER)
    statuses = [_attempt(attacker, "E1", f"guess-{n}", forwarded_for=f"10.0.{n}.1").status_code
                for n in range(20)]
    assert statuses == [401] * 10 + [429] * 10
    # A fresh spoofed address after the throttle does not reset it either.
    assert _attempt(attacker, "E1", PASSWORD, forwarded_for="192.0.2.250").status_code == 429


def test_the_owner_at_another_address_signs_in_while_the_attacker_is_throttled(app, make_person, clock):
    make_person("E1")
    attacker = _client_at(app, ATTACKER)
    for n in range(20):
        _attempt(attacker, "E1", f"guess-{n}")
    owner = _client_at(app, OWNER)
    assert _attempt(owner, "E1", PASSWORD).status_code == 302
    assert owner.get("/").status_code == 200
    # Throttling is never permanent: after the window the attacker's address may try again.
    assert _attempt(attacker, "E1", "still-wrong").status_code == 429
    clock.advance(WINDOW + 1)
    assert _attempt(attacker, "E1", PASSWORD).status_code == 302


def test_password_spraying_from_one_address_is_throttled_across_accounts(app, make_person):
    for n in range(31):
        make_person(f"S{n:02d}")
    sprayer = _client_at(app, ATTACKER)
    statuses = [_attempt(sprayer, f"S{n:02d}", "Summer2026!").status_code for n in range(31)]
    assert statuses == [401] * 30 + [429]
    assert _attempt(_client_at(app, OWNER), "S30", PASSWORD).status_code == 302


@pytest.mark.parametrize("app_overrides", [{"PORTAL_TRUSTED_PROXIES": 1}])
def test_a_distributed_attack_is_capped_per_account_but_the_owners_browser_gets_in(
        app, make_person, clock):
    make_person("E1")
    make_person("X9")
    proxy = "10.1.1.1"  # the trusted reverse proxy; X-Forwarded-For names the real clients
    owner = _client_at(app, proxy)
    assert _attempt(owner, "E1", PASSWORD, forwarded_for=OWNER).status_code == 302
    owner.post("/logout", data={"csrf_token": _csrf_token(owner.get("/").get_data(as_text=True))}).close()
    assert owner.get_cookie(KNOWN_DEVICE_COOKIE, path="/login") is not None
    owner.token = _csrf_token(owner.get("/login").get_data(as_text=True))

    botnet = _client_at(app, proxy)
    statuses = [_attempt(botnet, "E1", f"guess-{n}", forwarded_for=f"192.0.2.{n + 1}").status_code
                for n in range(51)]
    assert statuses == [401] * 50 + [429]
    # Another account's known-device note does not lift the cap on E1.
    other = _client_at(app, proxy)
    assert _attempt(other, "X9", PASSWORD, forwarded_for="192.0.2.200").status_code == 302
    stranger = _client_at(app, proxy)
    stranger.set_cookie(KNOWN_DEVICE_COOKIE, other.get_cookie(KNOWN_DEVICE_COOKIE, path="/login").value,
                        domain="localhost", path="/login")
    assert _attempt(stranger, "E1", PASSWORD, forwarded_for="192.0.2.201").status_code == 429
    # The owner's browser, from where they signed in before, is not locked out.
    assert _attempt(owner, "E1", PASSWORD, forwarded_for=OWNER).status_code == 302
    clock.advance(WINDOW + 1)
    assert _attempt(_client_at(app, proxy), "E1", PASSWORD, forwarded_for="192.0.2.202").status_code == 302


def test_only_wrong_passwords_count_not_refused_forms(app, make_person):
    make_person("E1")
    attacker = _client_at(app, ATTACKER)
    for _ in range(15):  # no CSRF token: refused before any password check, costs nothing
        attacker.post("/login", data={"employee_no": "E1", "password": "x"}).close()
    assert _attempt(attacker, "E1", PASSWORD).status_code == 302


REDIS_URI = "redis://127.0.0.1:6379"


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URI, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_with_redis_storage_the_count_outlives_the_process_state(app, make_person):
    """PORTAL_RATELIMIT_STORAGE_URI=redis://…: instances share counts, so a new one still throttles."""
    if not _redis_answers():
        pytest.skip(f"no Redis at {REDIS_URI}")
    import redis

    from portal import create_app
    from portal.extensions import db, limiter

    unique = uuid.uuid4().hex[:12]  # keys of this run only: other runs share the Redis server
    employee_no, attacker_address = f"R{unique}", f"2001:db8::{unique[:4]}:{unique[4:8]}"
    make_person(employee_no)
    config = {**app.config, "RATELIMIT_STORAGE_URI": REDIS_URI}
    instances = []
    try:
        instances.append(create_app(config))
        attacker = _client_at(instances[0], attacker_address)
        assert [_attempt(attacker, employee_no, f"guess-{n}").status_code for n in range(10)] == [401] * 10
        instances.append(create_app(config))  # another instance, with nothing in its own memory
        assert _attempt(_client_at(instances[1], attacker_address), employee_no, PASSWORD).status_code == 429
        assert _attempt(_client_at(instances[1], OWNER), employee_no, PASSWORD).status_code == 302
    finally:
        limiter.storage.storage.close()
        for instance in instances:
            with instance.app_context():
                db.engine.dispose()
        server = redis.Redis.from_url(REDIS_URI)
        for pattern in (f"LIMITS:*{unique}*", f"LIMITS:*{attacker_address}*"):
            for key in server.scan_iter(pattern):
                server.delete(key)
        server.close()
