"""Audit trail: append-only, hash-chained events and their verification (its pages: portal/audit_pages)."""
from portal.audit.models import AuditEvent
from portal.audit.services import record_event

__all__ = ["AuditEvent", "record_event"]
