"""Protected systems for admins: register, change, and list or revoke their API tokens."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.access.blueprint import bp, found, viewer
from portal.access.forms import SystemForm
from portal.access.messages import error_text
from portal.access.models import ApiToken, DepartmentCap, ProtectedSystem
from portal.access.systems import SystemData, revoke_api_token, save_system
from portal.core.access import no_auditor_writes, roles_required
from portal.core.i18n import current_locale
from portal.core.refusals import Refusal, apply_refusal_to_form
from portal.extensions import db
from portal.manuals.models import Manual

#: SystemData names → the form's field names, for putting a refusal next to the right field.
FORM_FIELDS = {"manual_slugs": "manuals", "grant_owner_nos": "grant_owners"}


def _system(code: str) -> ProtectedSystem:
    return found(db.session.scalar(select(ProtectedSystem).where(ProtectedSystem.code == code)))


@bp.route("/systems")
@roles_required("admin", "grant_owner", "auditor")
def systems():
    """Every protected system with its manuals and grant owners."""
    rows = db.session.scalars(select(ProtectedSystem).order_by(ProtectedSystem.code)).all()
    return render_template("access/systems.html", systems=rows)


@bp.route("/systems/<code>")
@roles_required("admin", "grant_owner", "auditor")
def system_detail(code: str):
    """One system: settings, caps and (for admins and auditors) its API tokens."""
    system = _system(code)
    caps = db.session.scalars(select(DepartmentCap).where(DepartmentCap.system_id == system.id)).all()
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.system_id == system.id)
                                .order_by(ApiToken.id.desc())).all() if viewer().has_role("admin", "auditor") else []
    return render_template("access/system_detail.html", system=system,
                           caps=sorted(caps, key=lambda c: c.department.code),
                           tokens=tokens)


def _form(system: ProtectedSystem | None) -> SystemForm:
    data = None
    if system is not None:
        data = {"code": system.code, "name_ja": system.name_ja, "name_en": system.name_en,
                "purposes": "\n".join(system.purposes), "manuals": [m.slug for m in system.required_manuals],
                "grant_owners": " ".join(p.employee_no for p in system.grant_owners),
                "max_grant_days": system.max_grant_days, "request_expiry_days": system.request_expiry_days,
                "review_every_months": system.review_every_months,
                "review_deadline_days": system.review_deadline_days}
    form = SystemForm(data=data) if data else SystemForm()
    manuals = db.session.scalars(select(Manual).order_by(Manual.slug)).all()
    form.manuals.choices = [SelectChoice(m.slug, f"{m.title(current_locale())}（{m.slug}）") for m in manuals]
    return form


def _save(existing: ProtectedSystem | None):
    form = _form(existing)
    if form.validate_on_submit():
        data = SystemData(code=form.code.data.strip(), name_ja=form.name_ja.data, name_en=form.name_en.data or "",
                          purposes=form.purposes.data.splitlines(), manual_slugs=list(form.manuals.data or []),
                          grant_owner_nos=form.grant_owners.data.split(), max_grant_days=form.max_grant_days.data,
                          request_expiry_days=form.request_expiry_days.data,
                          review_every_months=form.review_every_months.data,
                          review_deadline_days=(14 if form.review_deadline_days.data is None
                                                else form.review_deadline_days.data))
        try:
            system = save_system(viewer(), data, existing)
        except Refusal as error:
            db.session.rollback()
            error.field = FORM_FIELDS.get(error.field, error.field)
            apply_refusal_to_form(form, error, error_text)
            return render_template("access/system_form.html", form=form, system=existing), 400
        db.session.commit()
        flash(_("The system was saved."), "success")
        return redirect(url_for("access.system_detail", code=system.code))
    return render_template("access/system_form.html", form=form, system=existing), 400 if form.errors else 200


@bp.route("/systems/new", methods=["GET", "POST"])
@roles_required("admin")
@no_auditor_writes
def system_new():
    """Register a protected system."""
    return _save(None)


@bp.route("/systems/<code>/edit", methods=["GET", "POST"])
@roles_required("admin")
@no_auditor_writes
def system_edit(code: str):
    """Change a protected system (its grants' decisions are recomputed)."""
    return _save(_system(code))


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required("admin")
@no_auditor_writes
def token_revoke(token_id: int):
    """Revoke an API token at once."""
    token = found(db.session.get(ApiToken, token_id))
    try:
        revoke_api_token(viewer(), token)
    except Refusal as error:
        db.session.rollback()
        flash(error_text(error.code), "error")
    else:
        db.session.commit()
        flash(_("The token was revoked."), "success")
    return redirect(url_for("access.system_detail", code=token.system.code))
