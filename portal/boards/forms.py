"""The boards' forms: the period picker and the month of the report (read from the query string, so
no CSRF token), and the wall screen form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, MonthField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.web.forms import Form, options

PERIODS = (("today", _l("Today")), ("week", _l("This week")), ("month", _l("This month")), ("custom", _l("Custom")))


class PeriodForm(Form):
    class Meta:
        csrf = False

    period = SelectField(_l("Period"), choices=options(PERIODS), default="month", validate_choice=False)
    first = DateField(_l("From"), validators=[Optional()])
    last = DateField(_l("To"), validators=[Optional()])


class MonthForm(Form):
    class Meta:
        csrf = False

    month = MonthField(_l("Month"), validators=[Optional()])
    point = SelectField(_l("Service point"), validate_choice=False)


class ResultsForm(Form):
    """The results report's period: any days up to a year long, ending today at the latest."""

    class Meta:
        csrf = False

    first = DateField(_l("From"), validators=[Optional()])
    last = DateField(_l("To"), validators=[Optional()])


class ScreenForm(Form):
    name = StringField(_l("Screen"), validators=[DataRequired(_l("Name the screen.")), Length(max=60)],
                       description=_l("Where it hangs, for example 'Service center, hall'."))
    place = SelectField(_l("Board"), validate_choice=False)
