"""The dashboards blueprint; views.py and export_views.py add its pages."""
from __future__ import annotations

from flask import Blueprint

from portal.dashboards.tables import dashboard_status_label

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")
bp.add_app_template_global(dashboard_status_label, "dashboard_status_label")
