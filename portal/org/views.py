"""Organisation pages: people and departments for admins and auditors."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from portal.core.access import roles_required
from portal.extensions import db
from portal.org.models import Department

bp = Blueprint("org", __name__, url_prefix="/org")


@bp.route("/departments")
@roles_required("admin", "training_admin", "auditor")
def departments():
    """Every department and sales agency."""
    rows = db.session.scalars(select(Department).order_by(Department.kind, Department.code)).all()
    return render_template("org/departments.html", departments=rows)
