"""Forms of "My downloads": cancelling takes no input but the CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """Only the CSRF token."""
