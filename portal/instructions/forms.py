"""Forms: issuing an instruction, searching the register, and the CSRF-only action forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length

from portal.core.fields import DatePartsField


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
