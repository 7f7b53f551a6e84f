"""The filter form of the audit trail (a GET form: it changes nothing, so it carries no CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from portal.audit.criteria import (
    DATE_INCOMPLETE,
    DATE_NOT_NUMBER,
    DATE_NOT_REAL,
    DATE_OUT_OF_RANGE,
    AuditCriteria,
    DateError,
    parse_date_parts,
)

#: Date fields: name -> (legend, help text). Each becomes NAME_year, NAME_month, NAME_day.
DATE_FIELDS = {
    "date_from": (_l("From (JST)"), _l("Events on or after this day, Japan time.")),
    "date_to": (_l("To (JST)"), _l("Events up to the end of this day, Japan time.")),
    "as_of": (_l("Evidence as of (JST)"),
              _l("The trail as it stood at the end of this day, Japan time: later events are left out, "
                 "in the list and in exports. Leave empty for now.")),
}


def _date_messages() -> dict[str, object]:
    return {
        DATE_INCOMPLETE: _l("Enter the year, month and day, or leave all three empty."),
        DATE_NOT_NUMBER: _l("Enter the date in numbers, for example 2026 / 4 / 1."),
        DATE_NOT_REAL: _l("This date does not exist."),
        DATE_OUT_OF_RANGE: _l("Enter a year between 2000 and 2100."),
    }


def _date_part(label) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=4, message=_l("Enter at most 4 digits."))])


class AuditFilterForm(FlaskForm):
    """Action, actor, object, words in the reason, a JST date range and an "as of" day."""

    class Meta:
        csrf = False  # a search form sent by GET: a token would only leak into URLs and logs

    action = StringField(_l("Action"),
                         description=_l("For example auth.login_failed; end with * for a family, e.g. org.*"),
                         validators=[Optional(), Length(max=61, message=_l("Enter at most 60 characters."))],
                         render_kw={"list": "audit-actions"})
    actor_no = StringField(_l("Actor's employee number"),
                           validators=[Optional(), Length(max=40, message=_l("Enter at most 40 characters."))])
    object_type = StringField(_l("Object type"), description=_l("For example person"),
                              validators=[Optional(), Length(max=40, message=_l("Enter at most 40 characters."))])
    object_id = StringField(_l("Object id"),
                            validators=[Optional(), Length(max=80, message=_l("Enter at most 80 characters."))])
    text = StringField(_l("Words in the reason"),
                       validators=[Optional(), Length(max=200, message=_l("Enter at most 200 characters."))])
    date_from_year = _date_part(_l("From: year"))
    date_from_month = _date_part(_l("From: month"))
    date_from_day = _date_part(_l("From: day"))
    date_to_year = _date_part(_l("To: year"))
    date_to_month = _date_part(_l("To: month"))
    date_to_day = _date_part(_l("To: day"))
    as_of_year = _date_part(_l("As of: year"))
    as_of_month = _date_part(_l("As of: month"))
    as_of_day = _date_part(_l("As of: day"))

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the three dates: real calendar days, from not after to."""
        ok = super().validate(extra_validators)
        self.dates = {}
        for name in DATE_FIELDS:
            parts = [getattr(self, f"{name}_{p}") for p in ("year", "month", "day")]
            if any(part.errors for part in parts):
                ok = False
                continue
            parsed = parse_date_parts(*(part.data for part in parts))
            if isinstance(parsed, DateError):
                getattr(self, f"{name}_{parsed.part}").errors.append(_date_messages()[parsed.code])
                ok = False
            else:
                self.dates[name] = parsed
        start, end = self.dates.get("date_from"), self.dates.get("date_to")
        if start and end and start > end:
            self.date_to_year.errors.append(_l("The end date must not be before the start date."))
            ok = False
        return ok

    def criteria(self) -> AuditCriteria:
        """The validated filters as plain values (call after validate())."""
        def clean(field) -> str:
            return (field.data or "").strip()

        return AuditCriteria(
            action=clean(self.action), actor_no=clean(self.actor_no), object_type=clean(self.object_type),
            object_id=clean(self.object_id), text=clean(self.text),
            date_from=self.dates.get("date_from"), date_to=self.dates.get("date_to"), as_of=self.dates.get("as_of"),
        )
