"""Forms of local accounts: setting a password from a link, asking for a reset, the second factor."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

PASSWORD_HELP = _l("At least 12 characters, hard to guess, without your employee number or name. "
                   "Several unrelated words make a good password.")


class SetPasswordForm(FlaskForm):
    """The new password twice (the rules are checked by the service)."""

    new_password = PasswordField(_l("New password"), description=PASSWORD_HELP,
                                 validators=[DataRequired(message=_l("Enter a new password."))])
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[DataRequired(message=_l("Enter the new password again.")),
                    EqualTo("new_password", message=_l("The two new passwords differ."))],
    )


class ForgotPasswordForm(FlaskForm):
    """The employee number or e-mail address of the account."""

    identifier = StringField(
        _l("Employee number or e-mail address"),
        validators=[DataRequired(message=_l("Enter your employee number or e-mail address.")), Length(max=254)],
    )


class SecondFactorForm(FlaskForm):
    """A code from the authenticator app, or a recovery code."""

    code = StringField(
        _l("Code"),
        description=_l("The six digits your authenticator app shows now, or one of your recovery codes."),
        validators=[DataRequired(message=_l("Enter the code.")), Length(max=40)],
    )


class EnrolForm(FlaskForm):
    """The first code of the newly added authenticator."""

    code = StringField(
        _l("Code"),
        description=_l("The six digits the app shows for this portal."),
        validators=[DataRequired(message=_l("Enter the code.")), Length(max=40)],
    )


class BulkInvitationForm(FlaskForm):
    """Which department or agency to invite."""

    department = SelectField(_l("Department or agency"), coerce=str,
                             validators=[DataRequired(message=_l("Choose a department or agency."))])


class ActionForm(FlaskForm):
    """Only the CSRF token (send an invitation, reset a second factor)."""
