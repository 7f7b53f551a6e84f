"""State changes for certificates: revoking one, and auditing every export."""
from __future__ import annotations

from portal.audit.services import record_event
from portal.certificates.models import CertificateRevocation
from portal.certificates.queries import CertificateFacts, revocation_of
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Person

REASON_MIN = 4
REASON_MAX = 2000


class RevocationRefused(Exception):
    """The revocation cannot be made; `code` says why (already_revoked, reason_too_short, reason_too_long)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def revoke_certificate(actor: Person, facts: CertificateFacts, reason: str) -> CertificateRevocation:
    """Withdraw a certificate with a reason (admin only; checked by the view); audited."""
    reason = (reason or "").strip()
    if sum(ch.isalnum() for ch in reason) < REASON_MIN:
        raise RevocationRefused("reason_too_short")
    if len(reason) > REASON_MAX:
        raise RevocationRefused("reason_too_long")
    if revocation_of(facts.attestation_id) is not None:
        raise RevocationRefused("already_revoked")
    revocation = CertificateRevocation(attestation_id=facts.attestation_id, reason=reason, revoked_by_id=actor.id,
                                       revoked_at=utcnow())
    db.session.add(revocation)
    db.session.flush()
    record_event(actor, "certificate.revoked", object_type="attestation", object_id=facts.attestation_id,
                 reason=reason, details={"employee_no": facts.employee_no, "manual": facts.manual_slug,
                                         "edition": facts.edition_number})
    return revocation


def record_certificate_download(actor: Person, facts: CertificateFacts) -> None:
    """Someone other than the holder downloaded a certificate: audited."""
    record_event(actor, "certificate.exported", object_type="attestation", object_id=facts.attestation_id,
                 details={"employee_no": facts.employee_no, "manual": facts.manual_slug,
                          "edition": facts.edition_number})


def record_bulk_export(actor: Person | None, scope: str, candidates: int | None, source: str,
                       job_id: int | None = None) -> None:
    """A ZIP of certificates was requested (web job or CLI): audited before the first byte is made.

    A job counts its candidates later, in a consumer: the request that starts it answers at once.
    """
    details = {"scope": scope, "via": source}
    details.update({"candidates": candidates} if candidates is not None else {"job": job_id})
    record_event(actor, "certificates.exported", object_type="certificates", object_id=scope, details=details)
