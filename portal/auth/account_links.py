"""Sign-in links: invitations sent by admins, password resets asked for by people, and their use.

A link carries a 256-bit random token; only its SHA-256 is stored. It works once, until it
expires, while it is the person's newest link of its kind and while the person is active.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from portal.audit.services import record_event
from portal.auth.account_mail import queue_link_mail
from portal.auth.models import AccountToken
from portal.auth.password_rules import holder_of, password_problems
from portal.auth.passwords import hash_password
from portal.auth.services import PasswordPolicyError
from portal.core.refusals import Refusal
from portal.core.timeutil import as_utc, utcnow
from portal.extensions import db
from portal.org.models import Department, Person

#: How long a link works: an invitation waits for a new colleague; a reset is asked for by the
#: person at the screen, so it can be short (OWASP's advice for reset links).
LIFETIMES = {"invitation": timedelta(hours=72), "reset": timedelta(minutes=60)}
#: The page a link opens (portal/auth/account_views.py serves it).
LINK_PATH = "/account/link/"
#: A link that ended (used, superseded or expired) is deleted this long after it was made: its token
#: opens nothing any more, and the audit trail keeps who was sent what and when.
KEEP_ENDED_LINKS = timedelta(days=90)
#: A typed e-mail address shared by many people sends at most this many reset mails.
MAX_RESETS_PER_REQUEST = 5


class InvitationRefused(Refusal):
    """An invitation that cannot be sent; its code (also str()) the view puts into words."""


class LinkRefused(Refusal):
    """A link that does not work (any more); its code (also str()) is its state: unknown, used, expired,
    superseded, inactive."""


@dataclass
class BulkResult:
    """What a bulk invitation did: who was invited, who was skipped for lack of an e-mail address."""

    invited: list[Person] = field(default_factory=list)
    without_email: list[Person] = field(default_factory=list)


def hash_token(token: str) -> str:
    """The stored form of a link's token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_url(token: str) -> str:
    """The full address of a link, for the mail."""
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + LINK_PATH + token


def _lock_people(ids: list[int]) -> None:
    """Serialise link changes per person (PostgreSQL; SQLite has one writer at a time anyway)."""
    if ids and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Person.id).where(Person.id.in_(ids)).with_for_update())


def _open(purpose: str | None = None):
    conditions = [AccountToken.used_at.is_(None), AccountToken.superseded_at.is_(None)]
    if purpose:
        conditions.append(AccountToken.purpose == purpose)
    return conditions


def supersede_open_links(person_id: int, now: datetime, purpose: str | None = None) -> None:
    """Retire the person's open links (of one purpose, or all)."""
    db.session.execute(update(AccountToken).where(AccountToken.person_id == person_id, *_open(purpose))
                       .values(superseded_at=now).execution_options(synchronize_session=False))


def _issue(person: Person, purpose: str, actor: Person | None, now: datetime) -> tuple[AccountToken, str]:
    """A new link for the person, superseding their open one of the same purpose; queues its mail."""
    supersede_open_links(person.id, now, purpose)
    token = secrets.token_urlsafe(32)
    row = AccountToken(person_id=person.id, purpose=purpose, token_hash=hash_token(token), created_at=now,
                       expires_at=now + LIFETIMES[purpose], created_by_id=getattr(actor, "id", None))
    db.session.add(row)
    db.session.flush()
    queue_link_mail(person, row, link_url(token), expires_at=row.expires_at,
                    hours=int(LIFETIMES[purpose].total_seconds() // 3600),
                    minutes=int(LIFETIMES[purpose].total_seconds() // 60))
    return row, token


def invite_person(actor: Person, person: Person) -> AccountToken:
    """Send the person a sign-in invitation (a newer one supersedes an open one); audited.

    Raises InvitationRefused: inactive, no_email.
    """
    if not person.active:
        raise InvitationRefused("inactive")
    if not person.email:
        raise InvitationRefused("no_email")
    _lock_people([person.id])
    now = utcnow()
    row, _token = _issue(person, "invitation", actor, now)
    record_event(actor, "account.invitation_sent", object_type="person", object_id=person.employee_no,
                 details={"link": row.id, "expires_at": row.expires_at.isoformat()})
    return row


def uninvited_people(department: Department, now: datetime | None = None) -> list[Person]:
    """Active people of the department with no password and no open, unexpired invitation."""
    now = now or utcnow()
    open_invitation = select(AccountToken.id).where(
        AccountToken.person_id == Person.id, AccountToken.expires_at > now, *_open("invitation")).exists()
    return list(db.session.scalars(
        select(Person).where(Person.department_id == department.id, Person.active.is_(True),
                             Person.password_hash == "", ~open_invitation)
        .order_by(Person.name_kana, Person.employee_no)))


def invite_department(actor: Person, department: Department) -> BulkResult:
    """Invite every active person of a department or agency who has no password and no open invitation.

    One audit event per invitation sent; people without an e-mail address are skipped and named.
    """
    result = BulkResult()
    candidates = uninvited_people(department)
    _lock_people([p.id for p in candidates])
    now = utcnow()
    for person in candidates:
        if not person.email:
            result.without_email.append(person)
            continue
        row, _token = _issue(person, "invitation", actor, now)
        record_event(actor, "account.invitation_sent", object_type="person", object_id=person.employee_no,
                     details={"link": row.id, "expires_at": row.expires_at.isoformat(), "department": department.code})
        result.invited.append(person)
    return result


def _reset_candidates(identifier: str) -> list[Person]:
    typed = identifier.strip()
    if not typed:
        return []
    by = func.lower(Person.email) == typed.lower() if "@" in typed else Person.employee_no == typed
    return list(db.session.scalars(
        select(Person).where(by, Person.active.is_(True), Person.password_hash != "", Person.email != "")
        .order_by(Person.id).limit(MAX_RESETS_PER_REQUEST)))


def account_key(identifier: str) -> str:
    """The account a typed employee number or e-mail address names (for throttling), else what was typed."""
    typed = identifier.strip()[:254]
    if "@" in typed:
        found = db.session.scalar(select(Person.employee_no).where(func.lower(Person.email) == typed.lower())
                                  .order_by(Person.id).limit(1))
        return found or typed.lower()
    return typed


def request_reset(identifier: str) -> int:
    """Mail a reset link to the active person (with a password and an e-mail) the identifier names.

    Returns how many links were made; the page says the same whatever the answer. Audited either way.
    """
    people = _reset_candidates(identifier)
    _lock_people([p.id for p in people])
    now = utcnow()
    links = [_issue(person, "reset", None, now)[0] for person in people]
    record_event(None, "account.reset_requested", object_type="person",
                 object_id=people[0].employee_no if people else identifier.strip()[:80],
                 details={"known": bool(people), "links": [row.id for row in links],
                          "people": [p.employee_no for p in people]})
    return len(links)


def link_state(row: AccountToken | None, now: datetime | None = None) -> str:
    """valid, or why the link does not work: unknown, used, superseded, expired, inactive."""
    if row is None:
        return "unknown"
    if row.used_at is not None:
        return "used"
    if row.superseded_at is not None:
        return "superseded"
    if as_utc(row.expires_at) <= (now or utcnow()):
        return "expired"
    person = db.session.get(Person, row.person_id)
    if person is None or not person.active:
        return "inactive"
    return "valid"


def find_link(token: str) -> AccountToken | None:
    """The link a token opens, or None."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(AccountToken).where(AccountToken.token_hash == hash_token(token)))


def set_password_with_link(token: str, new_password: str) -> Person:
    """Set the person's password through their link, once; ends their other sessions; audited.

    Raises LinkRefused (the link's state) or PasswordPolicyError (on "new_password", with its problems).
    """
    row = find_link(token)
    state = link_state(row)
    if state != "valid":
        raise LinkRefused(state)
    person = db.session.get(Person, row.person_id)
    problems = password_problems(new_password, holder_of(person))
    if problems:
        raise PasswordPolicyError("password_rules", "new_password", problems=problems)
    now = utcnow()
    won = db.session.execute(
        update(AccountToken).where(AccountToken.id == row.id, AccountToken.expires_at > now, *_open())
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if won != 1:  # someone used it (or it was superseded) between the look and the change
        db.session.expire(row)
        raise LinkRefused(link_state(row, now))
    supersede_open_links(person.id, now)  # a reset link also retires an open invitation, and the other way round
    person.password_hash = hash_password(new_password)
    person.session_version += 1  # whoever was signed in as this person before is signed out
    record_event(person, "account.password_set", object_type="person", object_id=person.employee_no,
                 details={"via": row.purpose, "link": row.id})
    return person


def open_links_of(person_ids: list[int], now: datetime | None = None) -> dict[int, AccountToken]:
    """The newest open, unexpired invitation per person (for the person page)."""
    now = now or utcnow()
    rows = db.session.scalars(select(AccountToken).where(
        AccountToken.person_id.in_(person_ids), AccountToken.purpose == "invitation",
        AccountToken.expires_at > now, *_open())) if person_ids else []
    return {row.person_id: row for row in rows}


def departments_for_invitations() -> list[Department]:
    """Every department and agency, agencies last, by code."""
    return list(db.session.scalars(select(Department).order_by(Department.kind == "agency", Department.code)))



def purge_ended_links(now: datetime | None = None) -> int:
    """Delete links made more than KEEP_ENDED_LINKS ago that no longer work (the daily run); audited; flushes."""
    now = now or utcnow()
    cutoff = now - KEEP_ENDED_LINKS
    ended = or_(AccountToken.used_at.is_not(None), AccountToken.superseded_at.is_not(None),
                AccountToken.expires_at <= now)
    deleted = db.session.execute(delete(AccountToken).where(AccountToken.created_at < cutoff, ended)
                                 .execution_options(synchronize_session=False)).rowcount
    if deleted:
        record_event(None, "account.links_purged", object_type="account_tokens", object_id=deleted,
                     reason="daily run: links ended and older than 90 days",
                     details={"deleted": deleted, "made_before": cutoff.isoformat()})
    return deleted
