"""Forms of the manual pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length


class PublishForm(FlaskForm):
    """Publish what the preview showed: the plan's fingerprint travels with the button."""

    fingerprint = HiddenField(_l("Plan"), validators=[DataRequired(message=_l("Review the plan before publishing.")),
                                                       Length(min=64, max=64)])
