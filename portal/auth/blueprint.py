"""The auth blueprint; views.py, account_views.py, oidc_views.py and two_factor_views.py add its pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)
