"""The home page per role, and the health check."""
from __future__ import annotations

from flask import jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from portal.core.access import public, signed_in
from portal.extensions import db
from portal.home.blueprint import bp


@bp.route("/")
@signed_in
def index():
    """What the signed-in person should do next, per role."""
    return render_template("home/index.html", person=current_user)


@bp.route("/healthz")
@public
def healthz():
    """200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means unhealthy
        db.session.rollback()
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")
