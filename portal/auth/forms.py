"""Sign-in and password forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    """Employee number and password."""

    employee_no = StringField(_l("Employee number"),
                              validators=[DataRequired(message=_l("Enter your employee number.")), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("Enter your password."))])


class PasswordChangeForm(FlaskForm):
    """Current password, then the new one twice."""

    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(message=_l("Enter your current password."))])
    new_password = PasswordField(
        _l("New password"),
        description=_l("At least 12 characters, hard to guess, without your employee number or name."),
        validators=[DataRequired(message=_l("Enter a new password.")),
                    Length(min=12, message=_l("The new password must have at least 12 characters."))],
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[DataRequired(message=_l("Enter the new password again.")),
                    EqualTo("new_password", message=_l("The two new passwords differ."))],
    )


class LanguageForm(FlaskForm):
    """Only the CSRF token; the language comes from the button pressed."""
