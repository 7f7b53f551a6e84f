"""What sign-in keeps in the database: sign-in links (invitations, password resets), the second
factor (TOTP) and the OpenID Connect values already used once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.timeutil import utcnow
from portal.extensions import db

LINK_PURPOSES = ("invitation", "reset")


class AccountToken(db.Model):
    """A single-use link that lets a person set their password: an invitation or a reset.

    Only the SHA-256 of the link's 256-bit random token is stored; the token itself exists only in
    the mail. A person has at most one open link per purpose: a new one supersedes the old.
    """

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('invitation', 'reset')", name="purpose_known"),
        CheckConstraint("used_at IS NULL OR superseded_at IS NULL", name="used_or_superseded"),
        Index("uq_account_tokens_one_open", "person_id", "purpose", unique=True,
              sqlite_where=text("used_at IS NULL AND superseded_at IS NULL"),
              postgresql_where=text("used_at IS NULL AND superseded_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whose password the link sets.
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: invitation (sent by an admin) or reset (asked for on 「パスワードをお忘れの方」).
    purpose: Mapped[str] = mapped_column(String(16))
    #: Hex SHA-256 of the token in the link.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    #: When the password was set through it (it then works no more).
    used_at: Mapped[datetime | None]
    #: When a newer link of the same purpose (or a password set another way) replaced it.
    superseded_at: Mapped[datetime | None]
    #: The admin who sent an invitation; None for resets and the CLI.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class TwoFactor(db.Model):
    """A person's enrolled TOTP authenticator (RFC 6238, 30-second steps, 6 digits)."""

    __tablename__ = "two_factor"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    #: The base32 TOTP secret, stored as is (the database is the trust boundary; see README).
    secret: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The last time step whose code was accepted: a code is never accepted twice.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(db.Model):
    """One single-use recovery code of a person's second factor, stored as its SHA-256."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("person_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class OidcUsedValue(db.Model):
    """A state, nonce or ID-token id that came back once: seeing it again is a replay.

    The session cookie is signed but client-side, so an old cookie holding the same pending flow
    can be sent again; only the database knows a value was used.
    """

    __tablename__ = "oidc_used_values"
    __table_args__ = (CheckConstraint("kind IN ('state', 'nonce', 'jti')", name="kind_known"),)

    #: sha256 of kind + value (the value itself is never kept).
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    used_at: Mapped[datetime]
    #: Rows past this moment are deleted: by then the value has expired at the provider anyway.
    forget_after: Mapped[datetime] = mapped_column(index=True)
