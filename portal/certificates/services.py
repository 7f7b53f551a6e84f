"""State changes for certificates: revoking one, and auditing every export.

A revocation takes effect at once and everywhere: its attestation no longer counts for the
training status (a trigger of migration 0011 moves the person's training progress back to their
newest attestation that still counts, in the same statement), and the person's grants that need
that manual are suspended in the same transaction. The person may then pass the quiz and attest
again.
"""
from __future__ import annotations

from datetime import datetime

from portal.audit.services import record_event
from portal.certificates.models import CertificateRevocation
from portal.certificates.queries import CertificateFacts, revocation_of
from portal.core import signals
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.core.workflow import Meanwhile, StepLost, insert_once
from portal.org.models import Person

#: StepLost subject of a certificate.
SUBJECT = "certificate"

REASON_MIN = 4
REASON_MAX = 2000


def _witness(revocation: CertificateRevocation):
    return revocation.revoked_by, revocation.revoked_at


def revoke_certificate(actor: Person, facts: CertificateFacts, reason: str,
                       now: datetime | None = None) -> CertificateRevocation:
    """Withdraw a certificate with a reason (admin only; checked by the view), once; audited."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if sum(ch.isalnum() for ch in reason) < REASON_MIN:
        raise Refusal("reason_too_short", "reason")
    if len(reason) > REASON_MAX:
        raise Refusal("reason_too_long", "reason")
    earlier = revocation_of(facts.attestation_id)
    if earlier is not None:
        raise StepLost(SUBJECT, Meanwhile("revoked", *_witness(earlier)))
    revocation = insert_once(CertificateRevocation, {
        "attestation_id": facts.attestation_id, "reason": reason, "revoked_by_id": actor.id, "revoked_at": now},
        ["attestation_id"], subject=SUBJECT, state="revoked", witness=_witness)
    record_event(actor, "certificate.revoked", object_type="attestation", object_id=facts.attestation_id,
                 reason=reason, details={"employee_no": facts.employee_no, "manual": facts.manual_slug,
                                         "edition": facts.edition_number})
    signals.attestation_revoked.send("certificates", person_id=facts.person_id,
                                     attestation_id=facts.attestation_id, now=now)
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
