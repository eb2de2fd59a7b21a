"""The intake form."""
from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.domain.platform.text import MAX_TEXT
from portal.models import Channel, Mode, Slot
from portal.web.forms import Form, IdField, Phone, enum_options, options


class IntakeForm(Form):
    item_query = StringField(_l("Service item"), validators=[Length(max=40)],
                             render_kw={"autocomplete": "off", "placeholder": _l("Code, name or pinyin initials, e.g. dbsq")})
    item_id = IdField(_l("Service item"))
    mode = SelectField(_l("Handled as"), choices=options([("", _l("— as the item says —"))]) + enum_options(Mode),
                       validators=[Optional()], description=_l("Change it when the resident needs it otherwise, "
                                                               "e.g. a visit at home for a counter item."))
    requester_phone = StringField(_l("Phone"), validators=[InputRequired(_l("Enter the caller's phone number.")), Phone()],
                                  render_kw={"autocomplete": "off", "inputmode": "tel"})
    household_id = IdField(_l("Household"))
    resident_id = IdField(_l("Resident"))
    requester_name = StringField(_l("Full name"), validators=[Length(max=50)],
                                 description=_l("Left empty, the chosen resident's name is used."))
    place_id = SelectField(_l("Place"), coerce=lambda v: int(v) if v not in (None, "", "None") else None)
    address = StringField(_l("Address"), validators=[Length(max=200)])
    channel = SelectField(_l("Channel"), choices=enum_options(Channel), default="counter")
    description = TextAreaField(_l("What the resident needs"), validators=[
        InputRequired(_l("Describe what the resident needs.")),
        Length(max=MAX_TEXT, message=_l("At most %(max)d characters, please."))])
    visit_day = DateField(_l("Visit on"), validators=[Optional()],
                          description=_l("For a home visit: the day the resident proposes (optional)."))
    visit_slot = SelectField(_l("Half-day"), choices=enum_options(Slot), validators=[Optional()])
    finish = HiddenField()
