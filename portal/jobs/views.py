"""My downloads (ダウンロード): a person's jobs with their progress, cancel, and the file when it is ready.

The page is complete without script (a refresh link updates it); downloads.js, a static file under
the strict CSP, polls status.json and moves the progress bars.
"""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, jsonify, redirect, render_template, send_file, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user

from portal.core.access import roles_required, signed_in
from portal.core.exports import content_disposition
from portal.core.labels import StateLabels
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.jobs import queries
from portal.jobs.blueprint import bp
from portal.jobs.engine import files_dir
from portal.jobs.forms import ActionForm
from portal.jobs.kinds import job_kinds
from portal.jobs.messages import error_text
from portal.jobs.models import FINAL_STATES, Job
from portal.jobs.services import cancel_job, may_see, record_download, result_file

STATE_LABELS = StateLabels({
    "queued": _l("Waiting"), "running": _l("Processing"), "done": _l("Ready"), "failed": _l("Failed"),
    "cancelled": _l("Cancelled"), "expired": _l("Deleted"),
})
REFUSALS = {
    "already_finished": _l("This job had already finished."),
    "already_started": _l("This job can no longer be cancelled: it has started and runs to its end."),
    "not_ready": _l("This file is not ready yet."),
    "expired": _l("This file has been deleted: files are kept for %(days)d days. Please start the job again."),
}


def _refusal(code: str) -> str:
    text = str(REFUSALS[code])
    return text % {"days": current_app.config["PORTAL_JOBS_KEEP_DAYS"]} if code == "expired" else text


def _viewer():
    return current_user._get_current_object()


def load_job(job_id: int) -> Job:
    """The job if the viewer started it (or is an admin); 404 otherwise, as for one that does not exist."""
    job = db.session.get(Job, job_id)
    if job is None or not may_see(_viewer(), job):
        abort(404)
    return job


def _time_left_text(job: Job, seconds: int | None) -> str:
    if job.state != "running":
        return ""
    if job.total and job.done >= job.total:
        return _("Putting the file together…")
    if seconds is None:
        return _("Estimating the time left…")
    if seconds < 60:
        return _("Less than a minute left")
    minutes = round(seconds / 60)
    return ngettext("About %(num)d minute left", "About %(num)d minutes left", minutes)


def _count_text(done: int, total: int) -> str:
    done_text, total_text = f"{done:,}", f"{total:,}"
    return _("%(done)s of %(total)s (%(percent)s%%)", done=done_text, total=total_text,
             percent=queries.percent(done, total))


def job_status(job: Job, now) -> dict:
    """What the page and status.json show of one job."""
    kind = job_kinds().get(job.kind)
    left = queries.seconds_left(job.done, job.total, job.started_at, now) if job.state == "running" else None
    ready = job.state == "done"
    return {
        "id": job.id, "state": job.state, "state_label": STATE_LABELS.label_for(job.state),
        "label": str(kind.label) if kind else job.kind, "done": job.done, "total": job.total,
        "percent": queries.percent(job.done, job.total), "seconds_left": left,
        "count_text": _count_text(job.done, job.total),
        "time_left": _time_left_text(job, left),
        "finished": job.state in FINAL_STATES,
        "download_url": url_for(".file", job_id=job.id) if ready and job.result_path else "",
        "result_url": url_for(kind.result_endpoint) if ready and kind and kind.result_endpoint else "",
        "error": error_text(kind, job.error) if job.state == "failed" else "",
        "summary": str(kind.summary(job)) if ready and kind and kind.summary else "",
        "cancellable": job.state == "queued" or (job.state == "running" and (kind is None
                                                                               or kind.cancellable_while_running)),
    }



@bp.route("/")
@signed_in
def index():
    """The viewer's jobs of the last 7 days and every unfinished one, newest first."""
    now = utcnow()
    jobs = [(job, job_status(job, now)) for job in queries.recent_jobs(_viewer().id, now)]
    return render_template("jobs/downloads.html", jobs=jobs, form=ActionForm(), everyone=False)


@bp.route("/all")
@roles_required("admin")
def everyone():
    """Admins: everybody's recent jobs (admins may download any result; downloads are audited)."""
    now = utcnow()
    jobs = [(job, job_status(job, now)) for job in queries.recent_jobs(None, now)]
    return render_template("jobs/downloads.html", jobs=jobs, form=ActionForm(), everyone=True)


@bp.route("/status.json")
@signed_in
def status():
    """The viewer's jobs' progress, polled by downloads.js."""
    now = utcnow()
    return jsonify(jobs=[job_status(job, now) for job in queries.recent_jobs(_viewer().id, now)])


@bp.route("/<int:job_id>/cancel", methods=["POST"])
@signed_in
def cancel(job_id: int):
    """Stop a waiting or running job (its partial files are deleted)."""
    job = load_job(job_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        cancel_job(_viewer(), job)
    except Refusal as refused:
        db.session.rollback()
        flash(_refusal(refused.code), "warning")
    else:
        db.session.commit()
        flash(_("The job was cancelled."), "success")
    return redirect(url_for(".index"))


@bp.route("/<int:job_id>/file")
@signed_in
def file(job_id: int):
    """The job's result, for the person who started it and admins; every download is audited."""
    job = load_job(job_id)
    try:
        path: Path = result_file(job, files_dir())
    except Refusal as refused:
        flash(_refusal(refused.code), "warning")
        return redirect(url_for(".index"))
    record_download(_viewer(), job)
    db.session.commit()
    response = send_file(path, as_attachment=True, download_name=job.result_name, conditional=False,
                         max_age=0)
    response.headers["Content-Disposition"] = content_disposition(job.result_name)
    response.headers["Cache-Control"] = "no-store"
    return response
