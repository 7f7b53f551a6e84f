"""The home blueprint; views.py adds its pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("home", __name__)
