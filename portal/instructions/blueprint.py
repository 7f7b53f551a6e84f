"""The instructions blueprint; views.py and export_views.py add its pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("instructions", __name__, url_prefix="/instructions")
