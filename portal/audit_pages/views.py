"""Auditors and admins browse, verify and export the trail. Nothing here changes the organisation:
every route is GET but the one that starts a large export in the background (a job, with a CSRF token)."""
from __future__ import annotations

import json

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.audit.chain import (
    BAD_ANCHOR,
    CUT_OFF,
    EDITED,
    LINK,
    MISSING,
    REWRITTEN,
    UNKEYED_AFTER_KEYED,
    UNKNOWN_KEY,
)
from portal.audit.history import check_history, registered_tables
from portal.audit.queries import chain_head, check_audit_trail
from portal.audit.services import record_export
from portal.audit_pages import exporting
from portal.audit_pages.blueprint import bp
from portal.audit_pages.forms import DATE_FIELDS, AuditFilterForm
from portal.audit_pages.jobs import start_audit_export
from portal.audit_pages.queries import count_events, event_detail, known_actions, page_of_events, up_to_seq_for
from portal.core.access import roles_required
from portal.core.timeutil import to_jst
from portal.extensions import db, limiter
from portal.jobs.forms import ActionForm
from portal.jobs.services import announce_job

AUDIT_READERS = ("auditor", "admin")


@bp.app_template_filter("jst_seconds")
def jst_seconds(moment) -> str:
    """A stored UTC moment as Japan time to the second (audit evidence needs seconds)."""
    return to_jst(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _filter_form() -> AuditFilterForm:
    form = AuditFilterForm(formdata=request.args)
    form.validate()
    return form


def _render_events(form: AuditFilterForm, status: int = 200):
    """The list page; with errors it shows the form only (nothing is filtered by bad input)."""
    context = {"form": form, "date_fields": DATE_FIELDS, "actions": known_actions(), "page": None}
    if not form.errors:
        criteria = form.criteria()
        up_to = up_to_seq_for(criteria)
        context.update(
            criteria=criteria,
            page=page_of_events(criteria, up_to_seq=up_to, before=request.args.get("before", type=int),
                                after=request.args.get("after", type=int)),
            total=count_events(criteria, up_to),
            paged="before" in request.args or "after" in request.args,
        )
    return render_template("audit/events.html", **context), status


@bp.route("/")
@roles_required(*AUDIT_READERS)
def events():
    """The trail, newest first, filtered and paged by seq."""
    form = _filter_form()
    return _render_events(form, 400 if form.errors else 200)


@bp.route("/events/<int:seq>")
@roles_required(*AUDIT_READERS)
def event(seq: int):
    """Every field of one event, its details pretty-printed, and its hashes."""
    detail = event_detail(seq)
    if detail is None:
        abort(404)
    details_text = json.dumps(detail.event.details, ensure_ascii=False, indent=2, sort_keys=True)
    return render_template("audit/event.html", detail=detail, e=detail.event, details_text=details_text)


def _anchor_name(anchor) -> str:
    return _("the anchor of %(when)s (JST)", when=jst_seconds(anchor.anchored_at)) if anchor else ""


def _problem_text(problem, report) -> str:
    seq, anchor = problem.seq, _anchor_name(problem.anchor)
    texts = {
        MISSING: lambda: _("Event %(seq)s is missing: it was deleted.", seq=seq),
        LINK: lambda: _("Event %(seq)s does not link to the event before it: one of the two was changed, "
                        "or events were reordered.", seq=seq),
        EDITED: lambda: _("Event %(seq)s was changed after it was recorded: its content no longer matches its hash.",
                          seq=seq),
        UNKNOWN_KEY: lambda: _("Event %(seq)s is keyed with audit key %(key)s, which is not configured: add that key "
                               "to PORTAL_AUDIT_KEYS_OLD, or the event was forged.", seq=seq, key=problem.key_id),
        UNKEYED_AFTER_KEYED: lambda: _("Event %(seq)s has an unkeyed hash where every hash is keyed: the trail was "
                                       "rewritten from this event on by someone without the audit key.", seq=seq),
        REWRITTEN: lambda: _("Event %(seq)s no longer has the hash recorded by %(anchor)s: the trail was rewritten "
                             "at or before this event.", seq=seq, anchor=anchor),
        CUT_OFF: lambda: _("The trail now ends at event %(last)s, but %(anchor)s recorded event %(seq)s: events "
                           "were cut off.", anchor=anchor, seq=seq, last=report.last_seq),
        BAD_ANCHOR: lambda: _("Line %(line)s of the anchor file is not a validly signed anchor: the file was edited, "
                              "or the key that signed it is not configured.", line=problem.anchor_line),
    }
    return texts[problem.kind]()


@bp.app_template_global("history_problem_text")
def history_problem_text(problem) -> str:
    """A history row that does not match the audit trail, in the reader's language."""
    if problem.kind == "missing":
        return _("%(table)s row %(key)s, sealed by audit event %(seq)s, is missing (deleted).", table=problem.table,
                 key=problem.key, seq=problem.seq)
    if problem.kind == "edited":
        return _("%(table)s row(s) %(key)s, sealed by audit event %(seq)s, were edited.", table=problem.table,
                 key=problem.key, seq=problem.seq)
    return _("%(table)s row %(key)s is in no audit event (added outside the portal).", table=problem.table,
             key=problem.key)


@bp.route("/verify")
@roles_required(*AUDIT_READERS)
@limiter.limit("10 per minute")
def verify():
    """Run the chain verification now and show the result."""
    report = check_audit_trail()
    problem_text = _problem_text(report.problem, report) if report.problem else None
    return render_template("audit/verify.html", report=report, problem_text=problem_text,
                           anchoring=bool(current_app.config.get("PORTAL_AUDIT_ANCHOR_DIR")),
                           newest_anchor_name=_anchor_name(report.newest_anchor),
                           history_problems=check_history(), history_tables=registered_tables())


def _export(export_format: str):
    form = _filter_form()
    if form.errors:
        return _render_events(form, 400)
    criteria = form.criteria()
    head_seq, head_hash = chain_head(criteria.as_of_end())
    rows = count_events(criteria, head_seq)
    # Logged and committed before the file is sent: the export is evidence leaving the portal.
    event = record_export(current_user._get_current_object(), export_format, criteria.as_details(), head_seq, rows)
    db.session.commit()
    about = exporting.ExportFacts(criteria=criteria, head_seq=head_seq, head_hash=head_hash, rows=rows,
                                  exported_by=current_user._get_current_object(), export_event_seq=event.seq,
                                  exported_at=event.occurred_at)
    return exporting.csv_export(about) if export_format == "csv" else exporting.xlsx_export(about)


@bp.route("/export.csv")
@roles_required(*AUDIT_READERS)
def export_csv():
    """The filtered trail (as of a day, if given) as CSV, oldest first; logged as audit.exported."""
    return _export("csv")


@bp.route("/export.xlsx")
@roles_required(*AUDIT_READERS)
def export_xlsx():
    """The filtered trail (as of a day, if given) as XLSX with an "about" sheet; logged as audit.exported."""
    return _export("xlsx")


@bp.route("/export-job", methods=["POST"])
@roles_required(*AUDIT_READERS)
def export_job():
    """The filtered trail as a file made in the background (for large exports); logged as audit.exported."""
    form = AuditFilterForm(formdata=request.form)
    export_format = request.form.get("format", "")
    if not ActionForm().validate_on_submit() or export_format not in ("csv", "xlsx"):
        abort(400)
    if not form.validate():
        return _render_events(form, 400)
    job = start_audit_export(current_user._get_current_object(), form.criteria(), export_format)
    db.session.commit()
    announce_job(job.id)
    return redirect(url_for("downloads.index", _anchor=f"job-{job.id}"))
