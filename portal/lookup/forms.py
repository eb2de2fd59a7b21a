"""Forms of the public lookup."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.models import Outcome, Satisfaction
from portal.web.forms import Form, enum_options, options


class LookupForm(Form):
    number = StringField(_l("Case number"), validators=[InputRequired(_l("Enter the case number."))],
                         description=_l("As printed on your slip, e.g. LS-20261128-0001."))
    last_four = StringField(_l("Last four digits of your phone"),
                            validators=[InputRequired(_l("Enter the last four digits of the phone number you gave."))],
                            render_kw={"inputmode": "numeric", "maxlength": 8, "autocomplete": "off"})
    place = HiddenField()


class AnswerForm(Form):
    """A resident's own answer about a resolved case (by the link of the result's SMS, or at a kiosk)."""

    outcome = RadioField(_l("Was your matter solved?"), choices=enum_options(Outcome),
                         validators=[InputRequired(_l("Choose the outcome."))])
    satisfaction = RadioField(_l("How satisfied are you?"), choices=options(
        (s.value, s.label) for s in (Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.DISSATISFIED)),
        validators=[InputRequired(_l("Choose the satisfaction."))])
    comment = TextAreaField(_l("Anything you want to tell us (optional)"), validators=[Optional(), Length(max=500)])


class RatingForm(LookupForm, AnswerForm):
    """The answer at a kiosk, with the number and phone digits that found the case."""
