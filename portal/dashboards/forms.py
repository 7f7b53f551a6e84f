"""Forms of the dashboards: buttons that change something carry only the CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """Only the CSRF token: reminding and refreshing take no input."""
