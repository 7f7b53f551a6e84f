"""Auditors browse the trail."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.core.access import roles_required
from portal.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@roles_required("auditor", "admin")
def events():
    """The newest audit events."""
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(100)).all()
    return render_template("audit/events.html", events=rows)
