"""Fixtures for the local-account tests: a real SMTP server, links from its messages, TOTP codes.

Its fixtures are registered in tests/conftest.py (`pytest_plugins`).
List `app` (or a fixture that needs it) before `clock` in a test's arguments, so the portal's
modules are imported before the clock patches their `utcnow`.
"""
from __future__ import annotations

import email
import email.policy
import re
import socket

import pyotp
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import _csrf_token

#: A good password for the rules (long, unrelated words; no employee number or name).
NEW_PASSWORD = "kumo-sora-umi-yama-2026"
_LINK = re.compile(r"https?://\S+/account/link/\S+")


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """Messages addressed to one address, oldest first."""
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox(app):
    """A real SMTP server on a free local port that the portal sends through, for this test only."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config["PORTAL_SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


def body_of(message) -> str:
    """The plain-text body of a message."""
    return message.get_body(preferencelist=("plain",)).get_content()


def link_path(message) -> str:
    """The path of the sign-in link in a message (the test client speaks to the app directly)."""
    found = _LINK.search(body_of(message))
    assert found, body_of(message)
    return "/account/link/" + found.group(0).rsplit("/account/link/", 1)[1]


def post_form(client, path: str, data: dict, page: str | None = None):
    """POST a form with a CSRF token read from the page it lives on."""
    token = _csrf_token(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def set_password(client, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    """Fill in the set-password page of a link."""
    return post_form(client, path, {"new_password": password, "confirm_password": again or password})


def code_at(secret: str, moment) -> str:
    """The TOTP code an authenticator app shows at a moment."""
    return pyotp.TOTP(secret).at(moment)


def secret_from(html: str) -> str:
    """The key shown in text on the enrolment page."""
    found = re.search(r'<code class="secret-key">([A-Z2-7 ]+)</code>', html)
    assert found, html[:2000]
    return found.group(1).replace(" ", "")


def recovery_codes_from(html: str) -> list[str]:
    """The recovery codes shown once after enrolment."""
    return re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", html)
