"""HR import in the web UI: upload, preview the plan (or every bad row), then have a job apply exactly that plan."""
from __future__ import annotations

import hmac

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from portal.core.access import roles_required
from portal.extensions import csrf, db
from portal.org.blueprint import bp
from portal.org.forms import ImportApplyForm, ImportCancelForm, ImportUploadForm
from portal.org.hr_csv import UndecodableFile, decode, parse_hr_csv
from portal.org.import_runner import ImportAlreadyRunning, import_runner
from portal.org.messages import COUNT_LABELS, describe_error
from portal.org.services import known_department_codes, plan_sync
from portal.org.sync_plan import own_role_changes
from portal.org.uploads import (
    MAX_UPLOAD_BYTES,
    PendingImport,
    discard_pending,
    load_pending,
    record_preview,
    save_pending,
)

_SESSION_KEY = "org_import_token"
#: Room for the multipart envelope and the other fields around the file itself.
_ENVELOPE_BYTES = 64 * 1024
#: A preview lists at most this many changes per kind; the counts always cover all of them.
PREVIEW_LIMIT = 1000


def _too_large():
    form = ImportUploadForm(formdata=None)
    form.file.errors = [_("The file is larger than 10 MB. Split it into smaller files and import them one by one.")]
    return render_template("org/import_upload.html", form=form), 413


def _parse(raw: bytes, encoding: str):
    """Rows and errors of an uploaded file."""
    try:
        text = decode(raw, encoding)
    except UndecodableFile as undecodable:
        return [], [undecodable.error]
    return parse_hr_csv(text, known_department_codes())


def _refused(filename: str, errors):
    db.session.rollback()
    return render_template("org/import_refused.html", filename=filename,
                           problems=[describe_error(error) for error in errors]), 422


def _original_name(filename: str | None) -> str:
    name = (filename or "upload.csv").replace("\\", "/").rsplit("/", 1)[-1]
    return name[:200] or "upload.csv"


@bp.route("/import", methods=["GET", "POST"])
@roles_required("admin")
@csrf.exempt  # CSRF is checked below, after the size limit is set: the global check would first read a body of any size
def import_upload():
    """Upload an HR export; a good file goes on to the preview, a bad one lists every bad row."""
    if request.method == "POST":
        request.max_content_length = MAX_UPLOAD_BYTES + _ENVELOPE_BYTES
        try:
            csrf.protect()
        except RequestEntityTooLarge:
            return _too_large()
    form = ImportUploadForm()
    if not form.validate_on_submit():
        return render_template("org/import_upload.html", form=form), 400 if form.errors else 200
    raw = form.file.data.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        return _too_large()
    filename = _original_name(form.file.data.filename)
    rows, errors = _parse(raw, form.encoding.data)
    if errors:
        return _refused(filename, errors)
    discard_pending(session.pop(_SESSION_KEY, None))
    session[_SESSION_KEY] = save_pending(current_user.id, raw, filename, form.encoding.data,
                                         form.deactivate_missing.data)
    return redirect(url_for("org.import_preview"))


def _pending(token: str | None = None) -> PendingImport | None:
    """The upload waiting in this admin's session (and named by the form, when one is posted)."""
    in_session = session.get(_SESSION_KEY)
    if in_session is None or (token is not None and not hmac.compare_digest(token.encode(), in_session.encode())):
        return None
    return load_pending(in_session, current_user.id)


def _no_pending():
    flash(_("There is no uploaded file waiting, or it has expired. Upload it again."), "warning")
    return redirect(url_for("org.import_upload"))


def _preview(pending: PendingImport, changed_meanwhile: bool = False, applying: bool = False):
    rows, errors = _parse(pending.raw, pending.encoding)
    if errors:
        discard_pending(session.pop(_SESSION_KEY, None))
        return _refused(pending.filename, errors)
    plan = plan_sync(rows, deactivate_missing=pending.deactivate_missing)
    db.session.rollback()
    own_changes = own_role_changes(plan, current_user.employee_no)
    record_preview(pending, plan.digest(), plan.counts(), bool(own_changes))
    # formdata=None: after a refused apply, show the new digest, not the one just posted
    form = ImportApplyForm(formdata=None, data={"token": pending.token, "digest": plan.digest()})
    status = 409 if changed_meanwhile else 403 if applying and own_changes else 200
    return render_template("org/import_preview.html", plan=plan, pending=pending, form=form,
                           cancel_form=ImportCancelForm(), count_labels=COUNT_LABELS, limit=PREVIEW_LIMIT,
                           changed_meanwhile=changed_meanwhile,
                           own_changes=own_changes), status


@bp.route("/import/preview")
@roles_required("admin")
def import_preview():
    """What the uploaded file would change: counts and every change, with the apply button."""
    pending = _pending()
    return _no_pending() if pending is None else _preview(pending)


@bp.route("/import/apply", methods=["POST"])
@roles_required("admin")
def import_apply():
    """Queue the apply of the plan this admin previewed and go to My downloads, at once: the request does
    not plan the file again (50,000 rows take seconds); the job re-plans under the organisation lock and
    applies only if the plan is still the previewed one."""
    form = ImportApplyForm()
    if not form.validate_on_submit():
        abort(400)
    pending = _pending(form.token.data)
    if pending is None:
        return _no_pending()
    if not pending.digest or not hmac.compare_digest(pending.digest.encode(), form.digest.data.encode()):
        # previewed again (in another tab) since this form was shown, or never: show the plan as it is now
        return _preview(pending, changed_meanwhile=bool(pending.digest), applying=True)
    if pending.plan_is_empty:
        discard_pending(session.pop(_SESSION_KEY, None))
        flash(_("Nothing to change: the portal already matches %(file)s.", file=pending.filename), "success")
        return redirect(url_for("org.import_upload"))
    if pending.own_changes:  # another admin applies it
        return _preview(pending, applying=True)
    db.session.rollback()
    runner = import_runner()
    try:
        job_id = runner.start(current_user._get_current_object(), pending)
        db.session.commit()
    except ImportAlreadyRunning:
        db.session.rollback()
        flash(_("Another HR import is being applied. Nothing was started: when it has finished (see My downloads), "
                "look at this preview again."), "warning")
        return redirect(url_for("org.import_preview"))
    discard_pending(session.pop(_SESSION_KEY, None))
    runner.announce(job_id)
    flash(_("The import of %(file)s has started. It is applied in the background: its progress and its result are "
            "shown here.", file=pending.filename), "success")
    return redirect(url_for("downloads.index"))


@bp.route("/import/cancel", methods=["POST"])
@roles_required("admin")
def import_cancel():
    """Forget the uploaded file without applying it."""
    if not ImportCancelForm().validate_on_submit():
        abort(400)
    discard_pending(session.pop(_SESSION_KEY, None))
    flash(_("The upload was discarded; nothing was changed."), "success")
    return redirect(url_for("org.import_upload"))
