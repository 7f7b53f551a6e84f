"""Forms of the learner's pages (Flask-WTF: every one carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional


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
    #: Asked only of people whose roles need a second factor (the page shows it then).
    code = StringField(
        _l("Code from your authenticator app"),
        description=_l("The 6-digit code your authenticator app shows now, or one of your recovery codes."),
        validators=[Optional(), Length(max=40)],
    )


class HeaderAttestForm(FlaskForm):
    """Signed in through the trusted SSO header: re-typing one's employee number and the key phrase signs."""

    employee_no = StringField(
        _l("Your employee number"),
        description=_l("Type your employee number, to confirm it is you."),
        validators=[DataRequired(message=_l("Enter your employee number.")), Length(max=40)],
    )
    key_phrase = StringField(
        _l("Key phrase"),
        validators=[DataRequired(message=_l("Type the key phrase shown above.")), Length(max=100)],
    )


class ReauthAttestForm(FlaskForm):
    """Signed in through the company SSO: the button sends the person to sign in there again."""
