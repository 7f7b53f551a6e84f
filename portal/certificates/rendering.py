"""Certificate PDFs: the HTML template, the QR code of the verification URL, and render_pdf.

Everything goes through portal.core.pdf.render_pdf (shared FontConfiguration, a fetcher that
serves only portal/static/). Names and titles reach the template as data and are escaped
by Jinja, so a name like <img src=file:///etc/passwd> prints as text and fetches nothing.
"""
from __future__ import annotations

import base64
import io

import qrcode
from flask import current_app, render_template
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from portal.certificates.labels import signature_method_on_certificate
from portal.certificates.queries import CertificateFacts
from portal.core.pdf import STATIC_DIR, render_pdf, static_stylesheet
from portal.core.timeutil import wareki

#: Any of the eight masks gives a valid code; fixing one skips qrcode's 8-way search (~25 ms).
_QR_MASK = 4
_QR_BORDER = 4


def verification_url(code: str) -> str:
    """The public page that confirms a certificate: PORTAL_BASE_URL + /verify/<code>."""
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + "/verify/" + code


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR code's modules (quiet zone included), True for dark."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=_QR_BORDER, mask_pattern=_QR_MASK)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def qr_png_data_url(data: str, scale: int = 4) -> str:
    """The QR code as a small PNG data: URL (`scale` pixels per module; the PDF keeps edges crisp).

    A PNG, not SVG: WeasyPrint parses an SVG path of a few hundred segments in ~15 ms, a
    1 KB image in well under one.
    """
    matrix = qr_matrix(data)
    size = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (size, size), pixels).resize((size * scale, size * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def seal_url() -> str | None:
    """The configured seal image (a path under portal/static/) as a URL the PDF fetcher serves."""
    configured = current_app.config.get("PORTAL_CERTIFICATE_SEAL") or ""
    if not configured:
        return None
    path = (STATIC_DIR / configured).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        current_app.logger.warning("PORTAL_CERTIFICATE_SEAL %r is not a file under portal/static/", configured)
        return None
    return path.as_uri()


def japanese_date(day) -> str:
    """2026年11月29日 for a date."""
    return f"{day.year}年{day.month}月{day.day}日"


def certificate_html(facts: CertificateFacts) -> str:
    """The certificate as HTML for WeasyPrint (Japanese first, English beneath)."""
    config = current_app.config
    return render_template(
        "certificates/certificate.html", facts=facts, qr=qr_png_data_url(verification_url(facts.verification_code)),
        verify_url=verification_url(facts.verification_code), issuer=config["PORTAL_ISSUER_NAME"],
        seal=seal_url(), attested_on=facts.attested_on, wareki=wareki, japanese_date=japanese_date,
        signed_by=signature_method_on_certificate(facts.signature_method))


def render_certificate(facts: CertificateFacts) -> bytes:
    """One certificate as A4 landscape PDF bytes."""
    return render_pdf(certificate_html(facts), stylesheets=[static_stylesheet("css/certificate.css")])


def certificate_filename(facts: CertificateFacts) -> str:
    """A download name: certificate-<employee no>-<manual slug>-ed<n>.pdf (cleaned again when sent)."""
    return f"certificate-{facts.employee_no}-{facts.manual_slug}-ed{facts.edition_number}-{facts.attestation_id}.pdf"

