"""Forms of the heating area."""
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from portal.domain.platform.text import MAX_TEXT
from portal.models import Finding, VisitResult
from portal.web.forms import Form, IdField, Phone, enum_options, optional_id, options


class HotlineForm(Form):
    requester_phone = StringField(_l("Caller's phone"), validators=[
        InputRequired(_l("Enter the caller's phone number.")), Phone()],
        render_kw={"autocomplete": "off", "inputmode": "tel"})
    household_id = IdField()
    requester_name = StringField(_l("Full name"), validators=[Length(max=50)])
    address = StringField(_l("Address (when not in the register)"), validators=[Length(max=200)])
    station = SelectField(_l("Heating station"), coerce=optional_id, validate_choice=False)
    description = TextAreaField(_l("What the caller says"), validators=[Optional(), Length(max=MAX_TEXT)])
    item = StringField(validators=[InputRequired(_l("Choose one of the heating faults."))])


class IncidentForm(Form):
    station = SelectField(_l("Heating station"), coerce=optional_id, validate_choice=False,
                          validators=[InputRequired(_l("Choose the heating station that serves the caller."))])
    title = StringField(_l("Title"), validators=[InputRequired(_l("Give the incident a title.")), Length(max=100)],
                        render_kw={"placeholder": _l("e.g. main-pipe repair, heat off until 18:00")})
    places = SelectMultipleField(_l("Estates affected"), coerce=int,
                                 validators=[InputRequired(_l("Choose the estates it affects."))])
    notice = TextAreaField(_l("What callers are told (residents see this)"), validators=[Length(max=MAX_TEXT)])
    expected_end_at = DateTimeLocalField(_l("Expected end"), format="%Y-%m-%dT%H:%M", validators=[Optional()])


class CloseIncidentForm(Form):
    note = TextAreaField(_l("Closing note (residents see this)"), validators=[
        InputRequired(_l("Write the note the residents will read (what was repaired).")), Length(max=MAX_TEXT)])


class DutyForm(Form):
    station = SelectField(_l("Heating station"), coerce=optional_id, validate_choice=False)
    day = DateField(_l("Date"), validators=[InputRequired(_l("Give the date."))])
    user = SelectField(_l("On duty"), coerce=optional_id, validate_choice=False)


class CampaignForm(Form):
    name = StringField(_l("Name"), validators=[InputRequired(_l("Give the campaign a name.")), Length(max=80)])
    places = SelectMultipleField(_l("Estates"), coerce=int,
                                 validators=[InputRequired(_l("Choose the estates the campaign covers."))])
    starts_on = DateField(_l("From"), validators=[InputRequired(_l("Give the date."))])
    ends_on = DateField(_l("To"), validators=[InputRequired(_l("Give the date."))])
    monthly = BooleanField(_l("Every month (访问暖)"),
                           description=_l("Each household is visited once a month, from the first day to the last."))


class DoorForm(Form):
    result = RadioField(_l("At the door"), choices=enum_options(VisitResult),
                        validators=[InputRequired(_l("Choose what happened at the door."))])
    finding = SelectField(_l("Finding"), choices=options([("", "—")] + [(f.value, f.label) for f in Finding
                                                                           if f is not Finding.FINE]),
                          validators=[Optional()])
    note = StringField(_l("Note"), validators=[Length(max=500)])


class SeasonForm(Form):
    name = StringField(_l("Season"), validators=[InputRequired(_l("Name the season, e.g. 2026—2027.")),
                                                 Length(max=40)], render_kw={"placeholder": "2026—2027"})
    trial_from = DateField(_l("Trial heating from"), validators=[InputRequired(_l("Give the date."))],
                           description=_l("Low-temperature running: the pipes are filled and vented."))
    season_from = DateField(_l("Season proper from"), validators=[InputRequired(_l("Give the date."))])
    ends_on = DateField(_l("Last day of the season"), validators=[InputRequired(_l("Give the date."))])


class TemperatureForm(Form):
    celsius = StringField(_l("Room temperature (℃)"), validators=[
        InputRequired(_l("Write the room temperature in ℃, e.g. 17.5.")), Length(max=8)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"})


class FindingsForm(Form):
    visits = SelectMultipleField(_l("Findings"), coerce=int, validate_choice=False,
                                 validators=[InputRequired(_l("Choose the findings to make cases of."))])


class CardJobForm(Form):
    estate = SelectField(_l("Estate"), validators=[InputRequired(_l("Choose the estates to print."))],
                         validate_choice=False)
    building = StringField(_l("Building (optional)"), validators=[Length(max=40)])
