"""Forms for certificates: revoking one with a reason; choosing what to export in bulk."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length


class RevokeForm(FlaskForm):
    """Why the certificate is withdrawn (kept in the audit trail, not shown on the public page)."""

    reason = TextAreaField(_l("Reason for revoking"), validators=[
        DataRequired(message=_l("Enter the reason for revoking.")),
        Length(max=2000, message=_l("Enter at most 2,000 characters."))],
        description=_l("For example: attested under another person's account. Auditors will read it."))


class BulkExportForm(FlaskForm):
    """Which certificates to put in one ZIP (it starts a job: a POST with a CSRF token)."""

    department = SelectField(_l("Department"), validators=[DataRequired(message=_l("Choose a department."))])
