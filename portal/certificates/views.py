"""Certificate pages: my certificates, one certificate (PDF, revocation), bulk ZIP export (a job)."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from portal.certificates import queries
from portal.certificates.blueprint import bp
from portal.certificates.forms import BulkExportForm, RevokeForm
from portal.certificates.jobs import start_certificate_export
from portal.certificates.labels import certificate_status_label, signature_method_label
from portal.certificates.rendering import certificate_filename, render_certificate, verification_url
from portal.certificates.services import record_certificate_download, revoke_certificate
from portal.core.access import roles_required, signed_in
from portal.core.errors import conflict_page
from portal.core.exports import content_disposition
from portal.core.i18n import current_locale, format_jst
from portal.core.refusals import Refusal, apply_refusal_to_form
from portal.core.workflow import StepLost
from portal.extensions import db
from portal.jobs.services import announce_job
from portal.org.models import Department
from portal.org.queries import departments_by_id
from portal.training.status import jst_today

#: Besides the holder, who may open and download anyone's certificate (auditors read only).
READERS = ("admin", "training_admin", "auditor")
#: Who exports certificates one by one for others, or in bulk.
EXPORTERS = ("admin", "training_admin")
REFUSALS = {
    "reason_too_short": _l("Enter a reason (at least 4 letters or digits)."),
    "reason_too_long": _l("Enter at most 2,000 characters."),
}

bp.add_app_template_global(certificate_status_label, "certificate_status_label")
bp.add_app_template_global(signature_method_label, "signature_method_label")


@bp.app_template_global("revoked_certificates")
def revoked_certificates(person_id: int) -> dict:
    """My training: manuals whose newest certificate was revoked (attest again), with when and why."""
    return queries.revoked_newest(person_id)


def _viewer():
    return current_user._get_current_object()


def load_certificate(attestation_id: int) -> queries.CertificateFacts:
    """The holder's own certificate, or anyone's for READERS; 404 otherwise, as for one that does not exist."""
    viewer = _viewer()
    owner = queries.attestation_owner(attestation_id)
    if owner is None or (owner != viewer.id and not viewer.has_role(*READERS)):
        abort(404)
    facts = queries.certificate_by_id(attestation_id, jst_today())
    if facts is None:
        abort(404)
    return facts


@bp.route("/")
@signed_in
def mine():
    """The signed-in person's certificates, newest first, with whether each still counts."""
    certificates = queries.certificates_of(_viewer().id, jst_today())
    return render_template("certificates/mine.html", certificates=certificates, locale=current_locale())


@bp.route("/<int:attestation_id>")
@signed_in
def detail(attestation_id: int):
    """One certificate's facts, its verification address, download and (admins) revocation."""
    facts = load_certificate(attestation_id)
    viewer = _viewer()
    revocation = queries.revocation_of(attestation_id) if viewer.has_role(*READERS) else None
    return render_template("certificates/detail.html", facts=facts,
                           verify_url=verification_url(facts.verification_code),
                           revocation=revocation, form=RevokeForm(), locale=current_locale(),
                           may_revoke=viewer.has_role("admin") and facts.status != "revoked")


@bp.route("/<int:attestation_id>.pdf")
@signed_in
def download(attestation_id: int):
    """The certificate as an A4 landscape PDF; downloads by anyone but the holder are audited."""
    facts = load_certificate(attestation_id)
    pdf = render_certificate(facts)
    viewer = _viewer()
    if facts.person_id != viewer.id:
        record_certificate_download(viewer, facts)
        db.session.commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(certificate_filename(facts))
    return response


@bp.route("/<int:attestation_id>/revoke", methods=["POST"])
@roles_required("admin")
def revoke(attestation_id: int):
    """Withdraw a certificate, with a reason (admin only, audited)."""
    facts = load_certificate(attestation_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            revoke_certificate(_viewer(), facts, form.reason.data)
        except StepLost as lost:
            db.session.rollback()
            return conflict_page(_revoked_meanwhile(lost), url_for(".detail", attestation_id=attestation_id))
        except Refusal as refused:
            db.session.rollback()
            apply_refusal_to_form(form, refused, REFUSALS.get)
        else:
            db.session.commit()
            flash(_("The certificate was revoked. Its verification page now says so."), "success")
            return redirect(url_for(".detail", attestation_id=attestation_id))
    return render_template("certificates/detail.html", facts=facts,
                           verify_url=verification_url(facts.verification_code),
                           revocation=None, form=form, locale=current_locale(), may_revoke=True), 400


def _revoked_meanwhile(lost: StepLost) -> str:
    """「この修了証はすでに…さんが失効させました」, with when."""
    by, at = lost.meanwhile.by, lost.meanwhile.at
    text = (_("%(name)s has already revoked this certificate.", name=by.name) if by is not None
            else _("This certificate has already been revoked."))
    return text + (_(" (%(when)s, Japan time)", when=format_jst(at)) if at is not None else "")


def _export_form() -> BulkExportForm:
    form = BulkExportForm()
    departments = departments_by_id(None).values()
    form.department.choices = [("", _("Choose…")), ("all", _("The whole organisation"))] + [
        (str(d.id), f"{d.display_name(current_locale())}（{d.code}）") for d in departments]
    return form


@bp.route("/export", methods=["GET", "POST"])
@roles_required(*EXPORTERS)
def export():
    """Choose a department (or everyone); the ZIP is made in the background, shown under My downloads."""
    form = _export_form()
    if request.method == "GET":
        return render_template("certificates/export.html", form=form)
    if not form.validate_on_submit():
        return render_template("certificates/export.html", form=form), 400
    choice = form.department.data
    department = None if choice == "all" else db.session.get(Department, int(choice))
    job = start_certificate_export(_viewer(), department)
    db.session.commit()
    announce_job(job.id)
    flash(_("The ZIP is being made. It appears here when it is ready; you may leave this page."), "success")
    return redirect(url_for("downloads.index", _anchor=f"job-{job.id}"))
