"""Forms of the learner's pages (Flask-WTF: every one carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired


class StartQuizForm(FlaskForm):
    """Only the CSRF token: starting a quiz is a POST."""


class QuizAnswersForm(FlaskForm):
    """The CSRF token; the answers are read per drawn question (their choices vary per attempt)."""


class AttestForm(FlaskForm):
    """Re-entering one's password signs the attestation."""

    password = PasswordField(
        _l("Password"),
        description=_l("Enter the password you sign in with, to confirm it is you."),
        validators=[DataRequired(message=_l("Enter your password."))],
    )
