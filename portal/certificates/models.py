"""Revoking a certificate. A certificate is an attestation seen as a PDF: it has no table of its own.

The revocation row lives with training (portal.training.models): a revoked attestation no longer
counts, so the status engine below certificates reads it; certificates writes it.
"""
from __future__ import annotations

from portal.training.models import CertificateRevocation

__all__ = ["CertificateRevocation"]
