"""The manager's step of every approval workflow: approve or refuse, with a reason."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

REASON_HELP = _l("Recorded in the audit trail and shown to the requester.")


class ApprovalForm(FlaskForm):
    """The manager approves or refuses, with a reason."""

    decision = RadioField(_l("Your decision"),
                          choices=[SelectChoice("approve", _l("Approve")), SelectChoice("refuse", _l("Refuse"))],
                          validators=[InputRequired(message=_l("Choose approve or refuse."))])
    reason = TextAreaField(_l("Reason"), description=REASON_HELP,
                           validators=[DataRequired(message=_l("Enter a reason (at least 4 letters or digits).")),
                                       Length(max=1000)])
