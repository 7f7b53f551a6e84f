"""Words for certificate statuses and signature methods, in the viewer's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.core.labels import StateLabels

CERTIFICATE_STATUS_LABELS = StateLabels({
    "current": _l("Valid"),
    "superseded": _l("Superseded by a later edition"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
})


def certificate_status_label(status: str) -> str:
    """The short phrase for a certificate status."""
    return CERTIFICATE_STATUS_LABELS.label_for(status)


#: How an attestation was signed; attestations from before methods were recorded were signed with the password.
SIGNATURE_METHOD_LABELS = StateLabels({
    "password": _l("Password of the portal account"),
    "oidc": _l("Signed in again with the company account (OpenID Connect)"),
    "sso_header": _l("Employee number and key phrase re-typed (company SSO)"),
})
#: The same on the certificate itself, which is bilingual whatever the viewer's language (Japanese, English).
SIGNATURE_METHOD_ON_CERTIFICATE = {
    "password": ("ポータルのパスワードによる本人確認", "Portal password"),
    "oidc": ("社内アカウントでの再認証（OpenID Connect）", "Company account, re-authenticated (OpenID Connect)"),
    "sso_header": ("社員番号と確認文言の入力（社内SSO）", "Employee number and key phrase (company SSO)"),
}


def signature_method_label(method: str | None) -> str:
    """The short phrase for how an attestation was signed."""
    return SIGNATURE_METHOD_LABELS.label_for(method or "password")


def signature_method_on_certificate(method: str | None) -> tuple[str, str]:
    """How an attestation was signed, in Japanese and English, for the certificate."""
    return SIGNATURE_METHOD_ON_CERTIFICATE.get(method or "password", (method or "", method or ""))
