"""Forms of the look-up pages (Flask-WTF: CSRF on every POST). Texts are checked by the services,
which name the field; these forms only carry the input."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField

from portal.core.fields import DatePartsField


class LookupForm(FlaskForm):
    """A person asks for a look-up: purpose chosen and explained, the question, a reference."""

    purpose = RadioField(_l("Purpose of use"), choices=[], validate_choice=False)
    explanation = TextAreaField(
        _l("Why you need it"),
        description=_l("Say which task this is for and why it is needed now. At least 20 letters or digits."))
    question = TextAreaField(
        _l("What should be checked"),
        description=_l("For example: whether a fibre line contract exists for this order. Do not enter customers' "
                       "names, telephone numbers, e-mail or postal addresses."))
    reference = StringField(
        _l("Customer reference or order number"),
        description=_l("Only the reference the handler needs to find the record (letters, digits, - _ /). Do not "
                       "enter customers' names, telephone numbers, e-mail or postal addresses."))


class AnswerForm(FlaskForm):
    """The handler records what was checked and the answer given (not the data itself)."""

    checked = TextAreaField(
        _l("What you checked"),
        description=_l("Which system and item you looked at, for example: contract list, fibre line contracts."))
    answer = TextAreaField(
        _l("Answer given"),
        description=_l("The answer to the question, for example: a contract exists (1 line). Do not copy the "
                       "customer's data here."))


class WithdrawForm(FlaskForm):
    """The requester withdraws; the reason is optional."""

    reason = TextAreaField(_l("Reason"), description=_l("Optional. Recorded in the history and the audit trail."))


class ActionForm(FlaskForm):
    """Only the CSRF token: taking a request takes no input."""


class StatisticsForm(FlaskForm):
    """The statistics' date range (Japan-time days) and system (GET: no CSRF, nothing changes)."""

    class Meta:
        csrf = False

    first = DatePartsField(_l("From"))
    last = DatePartsField(_l("Until"))
    system = SelectField(_l("System"), choices=[], validate_choice=False)



class RegisterForm(FlaskForm):
    """The register's filters (GET: no CSRF, nothing changes)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=[], validate_choice=False)
    department = SelectField(_l("Department"), choices=[], validate_choice=False)
    asked_from = DatePartsField(_l("Asked from"))
    asked_to = DatePartsField(_l("Asked until"))
