"""Words for certificate statuses, in the viewer's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CERTIFICATE_STATUS_LABELS = {
    "current": _l("Valid"),
    "superseded": _l("Superseded by a later edition"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
}


def certificate_status_label(status: str) -> str:
    """The short phrase for a certificate status."""
    return str(CERTIFICATE_STATUS_LABELS.get(status, status))
