"""The certificates blueprint; views.py adds its pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("certificates", __name__, url_prefix="/certificates")
