"""Revoking a certificate. A certificate is an attestation seen as a PDF: it has no table of its own."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Person


class CertificateRevocation(db.Model):
    """An admin withdrew the certificate of one attestation (at most once); it then reads "revoked"."""

    __tablename__ = "certificate_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The attestation whose certificate no longer counts (one revocation per attestation).
    attestation_id: Mapped[int] = mapped_column(ForeignKey("attestations.id"), unique=True)
    #: Why, as the admin typed it (shown to auditors, never on the public verification page).
    reason: Mapped[str] = mapped_column(Text)
    revoked_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)

    revoked_by: Mapped[Person] = relationship()
