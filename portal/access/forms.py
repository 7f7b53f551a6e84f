"""Forms of the access pages (Flask-WTF, CSRF on every POST; dates as 年/月/日 number fields)."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.access.cap_rules import CapSpec, parse_cap_value
from portal.approvals.forms import REASON_HELP
from portal.core.fields import DatePartsField


class RequestForm(FlaskForm):
    """A person asks for access: a purpose from the system's list and an explanation."""

    purpose = RadioField(_l("Purpose of use"), choices=[],
                         validators=[InputRequired(message=_l("Choose a purpose from the list."))],
                         validate_choice=False)
    explanation = TextAreaField(
        _l("What you need it for"),
        description=_l("Say which task, for which customers or orders, and why you cannot ask an authorised "
                       "colleague. At least 20 letters or digits."),
        validators=[DataRequired(message=_l("Explain what you need the access for.")), Length(max=2000)])


class GrantForm(FlaskForm):
    """The grant owner grants (for a number of days) or refuses, with a reason."""

    #: "wait" replaces "grant" while the requester's training is not current (the view offers one of them).
    decision = RadioField(_l("Your decision"), choices=[
        SelectChoice("grant", _l("Grant")), SelectChoice("wait", _l("Wait until the requester's training is current")),
        SelectChoice("refuse", _l("Refuse"))], validators=[InputRequired(message=_l("Choose grant or refuse."))])
    days = IntegerField(_l("Grant for how many days"), validators=[Optional()],
                        description=_l("The grant ends after this many days."))
    reason = TextAreaField(_l("Reason"), description=REASON_HELP,
                           validators=[DataRequired(message=_l("Enter a reason (at least 4 letters or digits).")),
                                       Length(max=1000)])
    override_cap = BooleanField(
        _l("Grant above the department's cap (the reason above is recorded as the override reason)"))


class ReasonForm(FlaskForm):
    """A reason for revoking a grant."""

    reason = TextAreaField(_l("Reason"), description=REASON_HELP,
                           validators=[DataRequired(message=_l("Enter a reason (at least 4 letters or digits).")),
                                       Length(max=1000)])


class ReviewForm(FlaskForm):
    """The manager keeps or revokes a grant under review, with a reason."""

    decision = RadioField(_l("Your decision"),
                          choices=[SelectChoice("keep", _l("Keep")), SelectChoice("revoke", _l("Revoke"))],
                          validators=[InputRequired(message=_l("Choose keep or revoke."))])
    reason = TextAreaField(_l("Reason"), description=REASON_HELP,
                           validators=[DataRequired(message=_l("Enter a reason (at least 4 letters or digits).")),
                                       Length(max=1000)])


def _date_part(label, low: int, high: int, required: bool = True):
    checks = [InputRequired(message=_l("Enter a real date (year, month and day)."))] if required else [Optional()]
    return IntegerField(label,
                        validators=[*checks,
                                    NumberRange(low, high, message=_l("Enter a real date (year, month and day)."))])


def date_from_parts(year, month, day) -> date | None:
    """A date from three numbers, or None when they do not make one."""
    try:
        return date(int(year), int(month), int(day))
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 25-digit year typed in the address
        return None


class CampaignForm(FlaskForm):
    """A grant owner starts a review campaign with a deadline (end of that day, Japan time)."""

    system = SelectField(_l("System"), choices=[], validate_choice=False)
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Enter a title.")), Length(max=200)])
    deadline_year = _date_part(_l("Year"), 2000, 2100)
    deadline_month = _date_part(_l("Month"), 1, 12)
    deadline_day = _date_part(_l("Day"), 1, 31)


class CoverageForm(FlaskForm):
    """Which system and dates the coverage report shows (GET: no CSRF)."""

    class Meta:
        csrf = False

    system = SelectField(_l("System"), choices=[], validate_choice=False)
    on_year = _date_part(_l("Year"), 2000, 2100, required=False)
    on_month = _date_part(_l("Month"), 1, 12, required=False)
    on_day = _date_part(_l("Day"), 1, 31, required=False)
    from_year = _date_part(_l("Year"), 2000, 2100, required=False)
    from_month = _date_part(_l("Month"), 1, 12, required=False)
    from_day = _date_part(_l("Day"), 1, 31, required=False)


class CheckboxesField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SystemForm(FlaskForm):
    """An admin registers or changes a protected system."""

    code = StringField(_l("Code"), description=_l("Used by the system's API calls, e.g. customer-info."),
                       validators=[DataRequired(message=_l("Enter the code.")), Length(max=40)])
    name_ja = StringField(_l("Name (Japanese)"),
                          validators=[DataRequired(message=_l("Enter the name.")), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=200)])
    purposes = TextAreaField(_l("Purposes of use"), description=_l("One per line; requesters choose one."),
                             validators=[DataRequired(message=_l("Enter at least one purpose of use, one per line."))])
    manuals = CheckboxesField(_l("Manuals required"), choices=[], validate_choice=False)
    grant_owners = StringField(_l("Grant owners (employee numbers)"), description=_l("Separated by spaces."),
                               validators=[DataRequired(message=_l("Enter at least one grant owner."))])
    max_grant_days = IntegerField(_l("Longest grant (days)"), default=180,
                                  validators=[InputRequired(message=_l("Enter a number of days from 1 to 3660."))])
    request_expiry_days = IntegerField(_l("Requests expire after (days)"), default=14,
                                       validators=[InputRequired(message=_l("Enter a number of days from 1 to 365."))])
    review_every_months = IntegerField(
        _l("Recurring review every (months)"),
        description=_l("A review campaign starts by itself this many months after the last one began, e.g. 3 "
                       "for quarterly. Empty: only by hand."),
        validators=[Optional()])
    review_deadline_days = IntegerField(
        _l("Recurring review deadline (days)"), default=14, description=_l("Empty: 14 days."),
        validators=[Optional()])


class CapsForm(FlaskForm):
    """A grant owner sets per-department caps, one DEPARTMENT-CODE=PERCENT per line."""

    caps = TextAreaField(_l("Caps per department"),
                         description=_l("One line per department: DEPARTMENT-CODE=PERCENT of headcount, e.g. "
                                        "CUST-FRONT=52%, or a number of people, e.g. SALES-PLAN=3人. Departments "
                                        "not listed have no cap."),
                         validators=[Optional(), Length(max=20000)])
    reason = TextAreaField(_l("Reason"), description=_l("Recorded in the audit trail."),
                           validators=[DataRequired(message=_l("Enter a reason (at least 4 letters or digits).")),
                                       Length(max=1000)])


def parse_caps(text: str) -> tuple[dict[str, CapSpec], int | None]:
    """{code: cap} from CODE=52% (or CODE=52) and CODE=3人 lines, or ({}, bad line number)."""
    caps: dict[str, CapSpec] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        code, sep, value = line.partition("=")
        spec = parse_cap_value(value)
        if not sep or not code.strip() or spec is None or code.strip() in caps:
            return {}, number
        caps[code.strip()] = spec
    return caps, None


class GrantRegisterForm(FlaskForm):
    """The grant register's filters (GET: no CSRF, nothing changes)."""

    class Meta:
        csrf = False

    system = SelectField(_l("System"), choices=[], validate_choice=False)
    granted_from = DatePartsField(_l("Granted from"))
    granted_to = DatePartsField(_l("Granted until"))
    state = SelectField(_l("State"), choices=[], validate_choice=False)
    employee_no = StringField(_l("Employee number"), validators=[Optional(), Length(max=40)])
