"""Set-based reads of certificates: one query per page or per batch, whatever their number.

A certificate is an attestation seen as a PDF. Whether it still counts is decided by
status.certificate_status from facts fetched here: revoked (a revocation row), superseded
(a later attestation by the same person covers a newer material edition: an EXISTS in the
same query) and the validity end of the attested edition.
"""
from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from portal.certificates.models import CertificateRevocation
from portal.certificates.status import CURRENT, certificate_status
from portal.core.i18n import in_language
from portal.core.sql import id_filter
from portal.extensions import db
from portal.manuals.models import Manual, ManualEdition
from portal.org.models import Department, Person
from portal.training.models import Attestation
from portal.training.status import jst_date, validity_end

#: Bulk exports read this many certificates per query (memory stays flat).
BATCH = 500


@dataclass(frozen=True)
class CertificateFacts:
    """Everything a certificate shows and the verification page confirms."""

    attestation_id: int
    verification_code: str
    person_id: int
    person_name: str
    employee_no: str
    department_code: str
    department_name_ja: str
    department_name_en: str
    manual_id: int
    manual_slug: str
    manual_title_ja: str
    manual_title_en: str
    edition_number: int
    attested_at: datetime
    #: Last day the certificate counts (None: the manual has no validity period).
    valid_until: date | None
    status: str
    revoked_at: datetime | None = None
    revocation_reason: str = ""
    #: How the attestation was signed (portal/training/signing.py); None before it was recorded (a password).
    signature_method: str | None = None

    @property
    def attested_on(self) -> date:
        """The Japanese calendar day of the attestation."""
        return jst_date(self.attested_at)

    def manual_title(self, locale: str) -> str:
        """Title in the viewer's language, falling back to Japanese."""
        return in_language(locale, self.manual_title_ja, self.manual_title_en)

    def department_name(self, locale: str) -> str:
        """Department name in the viewer's language, falling back to Japanese."""
        return in_language(locale, self.department_name_ja, self.department_name_en)


def _superseded_clause():
    """EXISTS a later attestation by the same person that covers a material edition newer than this one."""
    later = aliased(Attestation)
    material = aliased(ManualEdition)
    return exists().where(
        later.person_id == Attestation.person_id, later.manual_id == Attestation.manual_id,
        material.manual_id == Attestation.manual_id, material.change_kind == "material",
        material.number > Attestation.edition_number, later.edition_number >= material.number,
    )


def _facts_select():
    return (
        select(Attestation.id, Attestation.verification_code, Attestation.person_id, Person.name,
               Person.employee_no, Department.code, Department.name_ja, Department.name_en, Manual.id, Manual.slug,
               Manual.title_ja, Manual.title_en, Attestation.edition_number, Attestation.attested_at,
               ManualEdition.validity_months, CertificateRevocation.revoked_at, CertificateRevocation.reason,
               _superseded_clause().label("superseded"), Attestation.signature_method)
        .join(Person, Person.id == Attestation.person_id)
        .join(Department, Department.id == Person.department_id)
        .join(Manual, Manual.id == Attestation.manual_id)
        .join(ManualEdition, ManualEdition.id == Attestation.edition_id)
        .outerjoin(CertificateRevocation, CertificateRevocation.attestation_id == Attestation.id)
    )


def _facts(row, today: date) -> CertificateFacts:
    (attestation_id, code, person_id, name, employee_no, dept_code, dept_ja, dept_en, manual_id, slug, title_ja,
     title_en, number, attested_at, months, revoked_at, reason, superseded, signature_method) = row
    valid_until = validity_end(jst_date(attested_at), months) if months else None
    status = certificate_status(revoked=revoked_at is not None, superseded=bool(superseded),
                                valid_until=valid_until, today=today)
    return CertificateFacts(attestation_id, code, person_id, name, employee_no, dept_code, dept_ja, dept_en or "",
                            manual_id, slug, title_ja, title_en or "", number, attested_at, valid_until, status,
                            revoked_at, reason or "", signature_method)


def certificate_by_id(attestation_id: int, today: date) -> CertificateFacts | None:
    """One certificate's facts (one query), or None."""
    row = db.session.execute(_facts_select().where(Attestation.id == attestation_id)).first()
    return _facts(row, today) if row else None


def certificate_by_code(code: str, today: date) -> CertificateFacts | None:
    """The certificate a verification code names, or None (one query)."""
    if not code or len(code) > 64:
        return None
    row = db.session.execute(_facts_select().where(Attestation.verification_code == code)).first()
    return _facts(row, today) if row else None


def certificates_of(person_id: int, today: date) -> list[CertificateFacts]:
    """Every certificate a person holds, newest first (one query)."""
    rows = db.session.execute(_facts_select().where(Attestation.person_id == person_id)
                              .order_by(Attestation.attested_at.desc(), Attestation.id.desc()))
    return [_facts(row, today) for row in rows]


def _current_candidates(department_ids: Collection[int] | None):
    """Certificates of active people that are neither revoked nor superseded (expiry is checked per row)."""
    stmt = _facts_select().where(Person.active.is_(True), CertificateRevocation.id.is_(None),
                                 ~_superseded_clause())
    if department_ids is not None:
        stmt = stmt.where(id_filter(Person.department_id, department_ids))
    return stmt


def current_certificate_batch(department_ids: Collection[int] | None, today: date, after: int,
                              batch: int = BATCH) -> tuple[list[CertificateFacts], int | None]:
    """Up to `batch` candidates with id > after (one query): the current ones, and the id to go on from."""
    stmt = _current_candidates(department_ids).where(Attestation.id > after).order_by(Attestation.id).limit(batch)
    rows = db.session.execute(stmt).all()
    if not rows:
        return [], None
    facts = [_facts(row, today) for row in rows]
    return [f for f in facts if f.status == CURRENT], rows[-1][0]


def candidate_facts(department_ids: Collection[int] | None, today: date, after: int, upto: int,
                    batch: int = BATCH) -> Iterator[CertificateFacts]:
    """Every candidate with after < id <= upto, current or not (its status says), batch by batch."""
    while True:
        stmt = (_current_candidates(department_ids).where(Attestation.id > after, Attestation.id <= upto)
                .order_by(Attestation.id).limit(batch))
        rows = db.session.execute(stmt).all()
        if not rows:
            return
        yield from (_facts(row, today) for row in rows)
        after = rows[-1][0]


def candidate_ids(department_ids: Collection[int] | None) -> list[int]:
    """The ids of every candidate of a bulk export, in order (one query)."""
    return list(db.session.scalars(_current_candidates(department_ids).with_only_columns(Attestation.id)
                                   .order_by(Attestation.id)))


def current_certificates(department_ids: Collection[int] | None, today: date,
                         batch: int = BATCH) -> Iterator[CertificateFacts]:
    """Current certificates of the departments' active people (None: everyone), batch by batch."""
    after: int | None = 0
    while after is not None:
        facts, after = current_certificate_batch(department_ids, today, after, batch)
        yield from facts


def current_certificate_count(department_ids: Collection[int] | None) -> int:
    """How many certificates a bulk export would consider (before the per-row expiry check)."""
    stmt = _current_candidates(department_ids).with_only_columns(func.count(Attestation.id))
    return db.session.scalar(stmt) or 0


def department_by_code(code: str) -> Department | None:
    """A department by its HR code."""
    return db.session.scalar(select(Department).where(Department.code == code))


def attestation_owner(attestation_id: int) -> int | None:
    """The person id an attestation belongs to, or None when there is no such attestation."""
    return db.session.scalar(select(Attestation.person_id).where(Attestation.id == attestation_id))


def revocation_of(attestation_id: int) -> CertificateRevocation | None:
    """The revocation of an attestation's certificate, if any."""
    return db.session.scalar(select(CertificateRevocation).where(
        CertificateRevocation.attestation_id == attestation_id))



@dataclass(frozen=True)
class RevokedNote:
    """The person's newest attestation of a manual had its certificate revoked: they must attest again."""

    manual_id: int
    edition_number: int
    revoked_at: datetime
    reason: str


def revoked_newest(person_id: int) -> dict[int, RevokedNote]:
    """Per manual whose newest attestation by the person was revoked: which, when and why (one query)."""
    newest = (select(func.max(Attestation.id)).where(Attestation.person_id == person_id)
              .group_by(Attestation.manual_id))
    rows = db.session.execute(
        select(Attestation.manual_id, Attestation.edition_number, CertificateRevocation.revoked_at,
               CertificateRevocation.reason)
        .join(CertificateRevocation, CertificateRevocation.attestation_id == Attestation.id)
        .where(Attestation.id.in_(newest)))
    return {row.manual_id: RevokedNote(*row) for row in rows}
