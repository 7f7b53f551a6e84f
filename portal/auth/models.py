"""What sign-in remembers in the database: the OpenID Connect values already used once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


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
