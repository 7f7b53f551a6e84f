"""The public verification page: /verify/<code> confirms what a certificate claims.

The page is the truth, not the PDF: an edited PDF still carries its code, and the page shows
the stored facts (holder, manual, edition, date) and whether the certificate is current,
superseded, expired or revoked. A wrong code gets the same 404 page as any unknown address,
and the route is rate-limited per client so codes cannot be guessed in bulk (they carry
144 random bits anyway).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from portal.certificates.queries import certificate_by_code
from portal.core.access import public
from portal.core.i18n import current_locale
from portal.extensions import limiter
from portal.training.status import jst_today

bp = Blueprint("verify", __name__)


def _verify_limit() -> str:
    return current_app.config["PORTAL_VERIFY_RATE_LIMIT"]


@bp.route("/verify/<code>")
@public
@limiter.limit(_verify_limit)
def certificate(code: str):
    """What the certificate with this code attests, and whether it still counts."""
    facts = certificate_by_code(code, jst_today())
    if facts is None:
        abort(404)
    response = render_template("certificates/verify.html", facts=facts, locale=current_locale())
    return response, 200, {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}
