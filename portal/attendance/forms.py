"""Forms of the "3+2" week: a missed day filled in, a lead's correction, the week and month shown."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, MonthField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from portal.models import AttendanceKind
from portal.web.forms import Form, enum_options, optional_id


class DayForm(Form):
    """A member fills in a missed day of the last week."""

    day = DateField(_l("Day"), validators=[InputRequired(_l("Give the day."))])
    kind = SelectField(_l("Where"), choices=enum_options(AttendanceKind), validators=[InputRequired()])


class CorrectionForm(Form):
    """A lead corrects a day of someone's, or fills it in, saying why."""

    member = SelectField(_l("Person"), coerce=optional_id, validators=[InputRequired(_l("Choose the person."))])
    day = DateField(_l("Day"), validators=[InputRequired(_l("Give the day."))])
    kind = SelectField(_l("Where"), choices=enum_options(AttendanceKind), validators=[InputRequired()])
    reason = StringField(_l("Reason"), validators=[InputRequired(_l("Say why the day is corrected.")), Length(max=200)])


class WeekForm(Form):
    class Meta:
        csrf = False

    week = DateField(_l("Week of"), validators=[Optional()])


class MonthForm(Form):
    class Meta:
        csrf = False

    month = MonthField(_l("Month"), validators=[Optional()])
