"""Grants: lists, one grant's whole history, revocation, per-department caps and the coverage report."""
from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.access.blueprint import bp, found, lost_page, viewer
from portal.access.cap_rules import CapSpec
from portal.access.coverage import catch_up, coverage_report
from portal.access.forms import CapsForm, CoverageForm, ReasonForm, date_from_parts, parse_caps
from portal.access.messages import GRANT_STATE_LABELS, error_text
from portal.access.models import AccessDecision, AccessGrant, DepartmentCap, ProtectedSystem
from portal.access.queries import grants_of_system, request_history, systems_owned_by
from portal.access.services import revoke_grant
from portal.access.systems import set_department_caps
from portal.approvals.queries import approver_ids_for
from portal.approvals.rules import reason_problem
from portal.audit.services import record_event
from portal.core.access import no_auditor_writes, roles_required, signed_in
from portal.core.exports import Sheet, csv_response, xlsx_response
from portal.core.i18n import current_locale
from portal.core.refusals import Refusal, apply_refusal_to_form
from portal.core.timeutil import to_jst, utcnow
from portal.core.workflow import StepLost
from portal.extensions import db

READERS = ("grant_owner", "auditor", "admin")


def visible_systems() -> list[ProtectedSystem]:
    """Systems whose grants the viewer may read: owners their own, auditors and admins all."""
    person = viewer()
    if person.has_role("auditor", "admin"):
        return list(db.session.scalars(select(ProtectedSystem).order_by(ProtectedSystem.code)))
    return systems_owned_by(person)


def _chosen_system(systems: list[ProtectedSystem], code: str | None) -> ProtectedSystem | None:
    if not systems:
        return None
    if not code:
        return systems[0]
    return found(next((s for s in systems if s.code == code), None))


@bp.route("/grants")
@roles_required(*READERS)
def grants():
    """Grants of one system, newest first, by state."""
    systems = visible_systems()
    system = _chosen_system(systems, request.args.get("system"))
    state = request.args.get("state") if request.args.get("state") in GRANT_STATE_LABELS else None
    page = max(request.args.get("page", 1, type=int), 1)
    rows = grants_of_system(system.id, state, page) if system else []
    return render_template("access/grants.html", systems=systems, system=system, state=state, rows=rows, page=page)


def _grant(grant_id: int) -> AccessGrant:
    """The grant if the viewer may see it (holder, their managers, grant owners, auditors, admins); else 404."""
    grant = found(db.session.get(AccessGrant, grant_id))
    person = viewer()
    owners = {o.id for o in grant.system.grant_owners}
    if not (person.id == grant.person_id or person.has_role("auditor", "admin") or person.id in owners
            or (person.has_role("manager") and person.id in approver_ids_for(grant.person))):
        found(None)
    return grant


def _grant_page(grant: AccessGrant, form: ReasonForm | None = None, code: int = 200):
    person = viewer()
    may_revoke = grant.state in ("in_force", "suspended",
                                 "waiting_for_room") and person.has_role("grant_owner", "manager") and (
        person.id in {o.id for o in grant.system.grant_owners} or person.id in approver_ids_for(grant.person))
    decision = db.session.get(AccessDecision, (grant.system_id, grant.person_id))
    reasons = json.loads(decision.reasons_json) if decision is not None and decision.grant_id == grant.id else []
    return render_template("access/grant_detail.html", grant=grant, history=request_history(grant.request_id),
                           reasons=reasons, form=form or (ReasonForm() if may_revoke else None),
                           may_revoke=may_revoke), code


@bp.route("/grants/<int:grant_id>")
@signed_in
def grant_detail(grant_id: int):
    """One grant and its whole history: requested, approved, granted, suspended, resumed, reviewed…"""
    return _grant_page(_grant(grant_id))


@bp.route("/grants/<int:grant_id>/revoke", methods=["POST"])
@roles_required("grant_owner", "manager")
@no_auditor_writes
def revoke(grant_id: int):
    """Revoke at once, with a reason; the decision API says no from the next call."""
    grant = _grant(grant_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            revoke_grant(viewer(), grant, form.reason.data)
        except StepLost as lost:
            return lost_page(lost, url_for("access.grant_detail", grant_id=grant_id))
        except Refusal as error:
            db.session.rollback()
            apply_refusal_to_form(form, error, error_text)
        else:
            db.session.commit()
            flash(_("The grant was revoked."), "success")
            return redirect(url_for("access.grant_detail", grant_id=grant.id))
    return _grant_page(grant, form, 400)


@bp.route("/systems/<code>/caps", methods=["GET", "POST"])
@roles_required("grant_owner")
@no_auditor_writes
def caps(code: str):
    """A grant owner sets the share of each department's headcount that may hold a grant in force."""
    system = found(next((s for s in systems_owned_by(viewer()) if s.code == code), None))
    current = db.session.scalars(select(DepartmentCap).where(DepartmentCap.system_id == system.id)).all()
    form = CapsForm(data=None if request.method == "POST" else {
        "caps": "\n".join(f"{c.department.code}={CapSpec(c.cap_percent, c.cap_people).text()}"
                          for c in sorted(current, key=lambda c: c.department.code))})
    if form.validate_on_submit():
        values, bad_line = parse_caps(form.caps.data)
        try:
            if bad_line is not None:
                raise Refusal("caps_line_invalid", "caps", line=bad_line)
            if reason_problem(form.reason.data):
                raise Refusal("reason_too_short", "reason")
            set_department_caps(viewer(), system, values, reason=form.reason.data.strip())
        except Refusal as error:
            db.session.rollback()
            apply_refusal_to_form(form, error, error_text)
        else:
            db.session.commit()
            flash(_("The caps were saved."), "success")
            return redirect(url_for("access.coverage", system=system.code))
    report = coverage_report(system, to_jst(utcnow()).date())
    code = 400 if form.is_submitted() else 200  # only a refused or invalid POST gets here
    return render_template("access/caps.html", system=system, form=form, report=report), code


def _coverage_inputs():
    form = CoverageForm(formdata=request.args)
    systems = visible_systems()
    form.system.choices = [SelectChoice(s.code, s.display_name(current_locale())) for s in systems]
    form.validate()
    today = to_jst(utcnow()).date()
    on = date_from_parts(form.on_year.data, form.on_month.data, form.on_day.data)
    since = date_from_parts(form.from_year.data, form.from_month.data, form.from_day.data)
    if any((form.on_year.data, form.on_month.data, form.on_day.data)) and on is None:
        form.on_year.errors = list(form.on_year.errors) + [error_text("date_invalid")]
    if any((form.from_year.data, form.from_month.data, form.from_day.data)) and since is None:
        form.from_year.errors = list(form.from_year.errors) + [error_text("date_invalid")]
    on = min(on or today, today)
    return form, _chosen_system(systems, form.system.data), on, since


@bp.route("/coverage")
@roles_required(*READERS)
def coverage():
    """Per department: people with a grant in force / headcount, now or at a past date, and the change."""
    form, system, on, since = _coverage_inputs()
    if system is not None and catch_up():
        db.session.commit()  # time-based changes that had passed are now in the history
    report = coverage_report(system, on, since) if system else []
    return render_template("access/coverage.html", form=form, system=system, on=on, since=since, report=report)


@bp.route("/coverage/export.<any(csv, xlsx):fmt>")
@roles_required(*READERS)
def coverage_export(fmt: str):
    """The coverage report as CSV (UTF-8 with BOM) or XLSX; the export is audited."""
    form, system, on, since = _coverage_inputs()
    system = found(system)
    catch_up()
    report = coverage_report(system, on, since)
    header = [_("Department code"), _("Department"), _("Cap (%)"),
              _("In force on %(date)s", date=since.isoformat()) if since else None,
              _("Headcount on %(date)s", date=since.isoformat()) if since else None,
              _("Share on %(date)s (%%)", date=since.isoformat()) if since else None,
              _("In force on %(date)s", date=on.isoformat()), _("Headcount on %(date)s", date=on.isoformat()),
              _("Share on %(date)s (%%)", date=on.isoformat()), _("Change (points)") if since else None,
              _("Cap (people)"), _("Suspended on %(date)s", date=on.isoformat()),
              _("Of them waiting for room on %(date)s", date=on.isoformat())]
    keep = [i for i, h in enumerate(header) if h is not None]
    rows = []
    for row in report:
        cells = [row.code or _("Total"), row.name("ja"), row.cap_percent,
                 row.before.in_force if row.before else None, row.before.headcount if row.before else None,
                 row.before.percent if row.before else None, row.after.in_force, row.after.headcount,
                 row.after.percent, row.change_points, row.cap.people if row.cap else None, row.after.suspended,
                 row.after.waiting]
        rows.append([cells[i] for i in keep])
    header = [header[i] for i in keep]
    record_event(viewer(), "access.coverage_exported", object_type="protected_system", object_id=system.code,
                 details={"format": fmt, "on": on.isoformat(), "since": since.isoformat() if since else None})
    db.session.commit()
    name = f"coverage-{system.code}-{on.isoformat()}.{fmt}"
    if fmt == "csv":
        return csv_response(name, header, rows)
    return xlsx_response(name, [Sheet(title=_("Coverage"), header=header, rows=rows)])
