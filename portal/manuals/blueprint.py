"""The manuals blueprint; views.py adds its pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("manuals", __name__, url_prefix="/manuals")
