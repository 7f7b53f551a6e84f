"""Certificates (修了証): a PDF per attestation, public verification, revocation, bulk export."""
