"""The jobs blueprints: My downloads (views.py) and the mail outbox's admin page (outbox_views.py)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("downloads", __name__, url_prefix="/downloads")
outbox_bp = Blueprint("outbox", __name__, url_prefix="/admin/mail")
