"""Forms: issuing an instruction, searching the register, and the CSRF-only action forms."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, MultipleFileField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.utils import unset_value
from wtforms.validators import Length


DATE_PARTS = ("year", "month", "day")


class DatePartsField(Field):
    """A date typed as 年/月/日 numeric fields (STYLE.md), read from NAME-year, NAME-month and
    NAME-day and checked on the server. Empty parts give None; a non-date gives an error."""

    def process(self, formdata, data=unset_value, extra_filters=None):  # noqa: D102
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        self.data = data
        self.parts = {"year": "", "month": "", "day": ""}
        if isinstance(data, date):
            self.parts = {"year": str(data.year), "month": str(data.month), "day": str(data.day)}
        if formdata is None:
            return
        self.parts = {part: (formdata.get(f"{self.name}-{part}") or "").strip()[:8] for part in DATE_PARTS}
        self.raw_data = [value for value in self.parts.values() if value]
        if not self.raw_data:
            self.data = None
            return
        try:
            # int() accepts full-width digits (２０２６), which Japanese keyboards produce.
            self.data = date(*(int(self.parts[part]) for part in DATE_PARTS))
        except ValueError:
            self.data = None
            self.process_errors.append(_l("Enter a real date as year, month and day, for example 2026 12 31."))

    def _value(self) -> str:
        return self.data.isoformat() if isinstance(self.data, date) else ""


class InstructionForm(FlaskForm):
    """A new corrective instruction (or a correction of one)."""

    title = StringField(_l("Subject"))  # lengths are checked by the service, with its messages
    body = TextAreaField(
        _l("Instruction"),
        description=_l("What must be done or stopped, from when. Markdown: blank line between paragraphs, "
                       "\"- \" for lists, \"## \" for headings."),
    )
    reason = TextAreaField(_l("Reason or incident"),
                           description=_l("The improper conduct or incident this instruction answers."))
    departments = SelectMultipleField(_l("Departments and sales agencies"), choices=[], validate_choice=False)
    people = TextAreaField(_l("Named people"),
                           description=_l("Employee numbers, separated by commas, spaces or new lines."))
    acknowledge_by = DatePartsField(_l("Acknowledge by"),
                                    description=_l("Recipients confirm they have read it by the end of this day "
                                                   "(Japan time)."))
    attachments = MultipleFileField(
        _l("Attachments"),
        description=_l("PDF, PNG, JPEG, GIF or WebP; at most 5 files of 5 MB each."),
        render_kw={"accept": ".pdf,.png,.jpg,.jpeg,.gif,.webp"},
    )
    corrects = HiddenField()


class RegisterSearchForm(FlaskForm):
    """The register's search (GET: no CSRF token, nothing changes)."""

    class Meta:
        csrf = False

    q = StringField(_l("Word in the title, text or reason"),
                    validators=[Length(max=100, message=_l("At most %(max)d characters."))])
    issued_from = DatePartsField(_l("Issued from"))
    issued_to = DatePartsField(_l("Issued until"))
    department = SelectField(_l("Department or sales agency"), choices=[], validate_choice=False)
    status = SelectField(_l("Status"), choices=[], validate_choice=False)


class ActionForm(FlaskForm):
    """Only the CSRF token: acknowledging and reminding take no input."""
