"""Forms of the organisation pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.org.messages import ROLE_LABELS


class PeopleFilterForm(FlaskForm):
    """Search and filters of the people list (GET: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name, reading or employee number"), validators=[Optional(), Length(max=100)])
    department = SelectField(_l("Department"), choices=[], validators=[Optional()],
                             invalid_choice_message=_l("Choose departments from the list."))
    status = SelectField(_l("Status"), choices=[SelectChoice("all", _l("All")), SelectChoice("active", _l("Active")),
                                                SelectChoice("inactive", _l("Inactive"))],
                         default="all", validators=[Optional()], invalid_choice_message=_l("Choose from the list."))


class CheckboxesField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RolesForm(FlaskForm):
    """Roles and managed departments of one person, with the reason for the change."""

    roles = CheckboxesField(_l("Roles"),
                            choices=[SelectChoice(role, label) for role,
                                     label in ROLE_LABELS.items() if role != "employee"],
                            invalid_choice_message=_l("Choose roles from the list."))
    managed = CheckboxesField(_l("Departments managed"), coerce=int, choices=[],
                              invalid_choice_message=_l("Choose departments from the list."))
    reason = TextAreaField(_l("Reason for the change"),
                           description=_l("Recorded in the audit trail, for example the request or ticket number."),
                           validators=[DataRequired(message=_l("Enter the reason for the change.")), Length(max=500)])
    state = HiddenField()


class ImportUploadForm(FlaskForm):
    """An HR export to preview."""

    file = FileField(_l("HR export (CSV)"),
                     description=_l("Header: employee_no,name,name_kana,email,department_code,department_name,"
                                    "department_kind,roles,manages,active. Up to 10 MB."),
                     validators=[FileRequired(message=_l("Choose the CSV file to import."))])
    encoding = SelectField(_l("Encoding"), choices=[
        SelectChoice("utf-8", _l("UTF-8 (with or without BOM)")),
        SelectChoice("cp932", _l("Shift_JIS (CP932), as Japanese HR systems export it"))],
                           default="utf-8", invalid_choice_message=_l("Choose from the list."))
    deactivate_missing = BooleanField(_l("Deactivate people who are missing from the file"))


class ImportApplyForm(FlaskForm):
    """Apply the previewed plan: the upload's token and the fingerprint of what was shown."""

    token = HiddenField(validators=[DataRequired()])
    digest = HiddenField(validators=[DataRequired()])


class ImportCancelForm(FlaskForm):
    """Forget the uploaded file."""
