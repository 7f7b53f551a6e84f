"""Outgoing mail: over SMTP when PORTAL_SMTP_URL is set, else (development) each message
becomes an .eml file in PORTAL_MAIL_DIR. Both sit behind deliver() and open_transport().

PORTAL_SMTP_URL: smtp://host:port (plain), smtp://host:port?starttls=1 (upgrade with
STARTTLS), smtps://host:port (TLS from the start); user:password@ before the host logs in.

The portal sends every message through the outbox (portal/outbox): callers queue messages in
their transaction and the queue consumers send them; deliver() is what the consumers' sending
(and the tests) use underneath.
"""
from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Iterable
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from portal.core.timeutil import utcnow

# CR/LF (and other line breaks) in a header would let text forge extra headers.
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


@dataclass(frozen=True)
class OutgoingMail:
    """One plain-text message to one address; `key` names it (the outbox's unique key)."""

    to: str
    subject: str
    body: str
    key: str = ""


def message_id(key: str, sender: str) -> str:
    """A Message-ID derived from the message's key: a message sent again after a crash carries the
    same one, so mail systems and readers see one message."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{sender.rpartition('@')[2] or 'portal.invalid'}>"


def render_mail(template: str, to: str, **context) -> OutgoingMail:
    """A message from a .txt template that sets `subject` with {% set subject = ... %}."""
    env = current_app.jinja_env
    module = env.get_template(template).make_module(context)
    return OutgoingMail(to=to, subject=str(getattr(module, "subject", "")), body=str(module))


def mail_locale(person_locale: str | None) -> str:
    """The language a person's mail is written in: English when they chose it, Japanese otherwise."""
    return "en" if person_locale == "en" else "ja"


def render_person_mail(template: str, person, **context) -> OutgoingMail:
    """A message to one person from `<template>.<their language>.txt` (`person` is in its context)."""
    return render_mail(f"{template}.{mail_locale(person.locale)}.txt", to=person.email, person=person, **context)


def _message(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = _LINE_BREAKS.sub(" ", mail.to).strip()
    message["Subject"] = _LINE_BREAKS.sub(" ", mail.subject).strip()
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = (message_id(mail.key, sender) if mail.key
                             else make_msgid(domain=sender.rpartition("@")[2] or "portal.invalid"))
    message.set_content(mail.body, charset="utf-8")
    return message


class FolderTransport:
    """Development: write each message as an .eml file into PORTAL_MAIL_DIR."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder, self.sender = folder, sender
        self.folder.mkdir(parents=True, exist_ok=True)
        self.stamp = utcnow().strftime("%Y%m%dT%H%M%S")

    def send(self, mail: OutgoingMail) -> None:
        """Write one message."""
        path = self.folder / f"{self.stamp}-{uuid.uuid4().hex[:12]}.eml"
        path.write_bytes(bytes(_message(mail, self.sender)))

    def close(self) -> None:
        """Nothing to close."""


class SMTPTransport:
    """One SMTP connection for a batch of messages; send() raises when the server refuses one."""

    def __init__(self, url: str, sender: str, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"PORTAL_SMTP_URL must look like smtp://host:port, not {url!r}")
        self.sender = sender
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        if parts.scheme == "smtps":
            self.client = smtplib.SMTP_SSL(parts.hostname, port, timeout=timeout,
                                           context=ssl.create_default_context())
        else:
            self.client = smtplib.SMTP(parts.hostname, port, timeout=timeout)
            if parse_qs(parts.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes"):
                self.client.starttls(context=ssl.create_default_context())
        if parts.username:
            self.client.login(unquote(parts.username), unquote(parts.password or ""))

    def send(self, mail: OutgoingMail) -> None:
        """Hand one message to the server (raises smtplib.SMTPException, an OSError, when refused)."""
        self.client.send_message(_message(mail, self.sender))

    def close(self) -> None:
        """Say QUIT, or just drop the connection if the server is gone."""
        try:
            self.client.quit()
        except (smtplib.SMTPException, OSError):
            self.client.close()


def open_transport() -> FolderTransport | SMTPTransport:
    """The configured transport: SMTP when PORTAL_SMTP_URL is set, else the development folder."""
    config = current_app.config
    if config.get("PORTAL_SMTP_URL"):
        return SMTPTransport(config["PORTAL_SMTP_URL"], config["PORTAL_MAIL_FROM"])
    return FolderTransport(Path(config["PORTAL_MAIL_DIR"]), config["PORTAL_MAIL_FROM"])


def deliver(mails: Iterable[OutgoingMail]) -> int:
    """Send each message with an address through the configured transport; return how many went."""
    mails = [mail for mail in mails if mail.to]
    if not mails:
        return 0
    transport = open_transport()
    try:
        for mail in mails:
            transport.send(mail)
    finally:
        transport.close()
    return len(mails)
