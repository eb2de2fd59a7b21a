"""Forms of the visits area."""
from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.domain.platform.text import MAX_TEXT
from portal.models import Slot
from portal.web.forms import Form, enum_options, optional_id


class BookForm(Form):
    day = DateField(_l("Day"), validators=[InputRequired(_l("Choose the day and the half-day."))])
    slot = SelectField(_l("Half-day"), choices=enum_options(Slot), validators=[InputRequired()])
    team = SelectField(_l("Team"), coerce=optional_id, validate_choice=False, validators=[Optional()])


class MoveForm(BookForm):
    version = IntegerField(validators=[InputRequired()])


class FinishForm(Form):
    work_done = TextAreaField(_l("What was done (the resident sees this)"), validators=[
        InputRequired(_l("Say what was done; the resident sees it.")), Length(max=MAX_TEXT)])
    resident_confirmed = TextAreaField(_l("What the resident confirmed"), validators=[
        InputRequired(_l("Write what the resident confirmed (or that they signed).")), Length(max=MAX_TEXT)])


class HandoffForm(Form):
    item = SelectField(_l("Errand to hand off"), coerce=optional_id, validate_choice=False,
                       validators=[InputRequired(_l("Choose an errand item (one that a proxy carries off the island)."))])
    description = TextAreaField(_l("What the proxy needs to know"), validators=[Optional(), Length(max=MAX_TEXT)])
