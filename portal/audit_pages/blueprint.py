"""The audit pages' blueprint (still named "audit": /audit/…); views.py adds its pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")
