"""The lookups blueprint; views.py, register_views.py and statistics_views.py add its pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("lookups", __name__, url_prefix="/lookups")
