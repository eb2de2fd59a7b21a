"""Forms of the directory area, one per kind of row."""
from __future__ import annotations

import math

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from portal.domain.cases import timekeeping
from portal.domain.cases.lifecycle import TRANSITIONS
from portal.models import CaseStatus, Channel, DayKind, Mode, PlaceKind, PointKind, Role
from portal.web.forms import Form, Phone, enum_options, optional_id, options

CODE = Regexp(r"^[A-Z0-9][A-Z0-9-]{0,19}$", message=_l("Use capital letters, digits and hyphens, at most 20."))
REQUIRED = InputRequired(_l("This field is required."))


class UserForm(Form):
    username = StringField(_l("Username"), validators=[
        REQUIRED, Regexp(r"^[a-z0-9][a-z0-9._-]{2,39}$", message=_l("3 to 40 lowercase letters, digits, dots, hyphens."))])
    display_name = StringField(_l("Name"), validators=[REQUIRED, Length(max=50)])
    phone = StringField(_l("Phone"), validators=[Optional(), Phone()])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=200), Regexp(
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Write an e-mail address such as name@example.gov.cn."))],
        description=_l("Reminders go here by e-mail, as well as to the phone by SMS."))
    role = SelectField(_l("Role"), choices=enum_options(Role), validators=[REQUIRED])
    service_point_id = SelectField(_l("Service point"), coerce=optional_id, validate_choice=True)
    team_id = SelectField(_l("Team"), coerce=optional_id)
    office_id = SelectField(_l("Office (科室)"), coerce=optional_id,
                            description=_l("The office of the administration the person belongs to (3+2 assessment)."))
    is_team_lead = BooleanField(_l("Team lead"))
    place_ids = SelectMultipleField(_l("Places covered"), coerce=int)
    confirm_places = BooleanField(_l("Yes, take these places from this user"))
    password = PasswordField(_l("Password"), description=_l("Leave empty to keep the current password."),
                             render_kw={"autocomplete": "new-password"})


def _working_hours(form, field):
    try:
        timekeeping.parse_hours(field.data or "")
    except ValueError as error:
        raise ValidationError(_l("Write periods like 08:30-12:00,13:30-17:30, in order, without overlaps.")) from error


def _week(form, field):
    field.data = (field.data or "").strip().upper()
    if not timekeeping.valid_week(field.data):
        raise ValidationError(_l("Seven letters from Monday: W working, O off the island, R rest; at least one W."))


class ServicePointForm(Form):
    code = StringField(_l("Code"), validators=[REQUIRED, CODE])
    kind = SelectField(_l("Kind"), choices=enum_options(PointKind), validators=[REQUIRED])
    name_zh = StringField(_l("Name (Chinese)"), validators=[REQUIRED, Length(max=60)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=80)])
    place_id = SelectField(_l("Located in"), coerce=optional_id)
    on_island = BooleanField(_l("On the island"))
    case_prefix = StringField(_l("Case number prefix"), default="LS", validators=[
        REQUIRED, Regexp(r"^[A-Z]{2,8}$", message=_l("2 to 8 capital letters."))])
    phone = StringField(_l("Phone"), validators=[Optional(), Phone()])
    address = StringField(_l("Address"), validators=[Length(max=200)])
    hours = StringField(_l("Working hours"), default=timekeeping.DEFAULT_HOURS, validators=[REQUIRED, _working_hours])
    week = StringField(_l("Week"), default=timekeeping.ISLAND_WEEK, validators=[REQUIRED, _week],
                       description=_l("Monday to Sunday: W working, O off the island (3+2 week), R rest. "
                                      "E.g. WWWOORR."))
    observes_holidays = BooleanField(_l("Closed on public holidays"), default=True,
                                     description=_l("Heating stations work through holidays: leave it unticked."))
    butlers_on_call = BooleanField(_l("Butlers on call out of hours"), default=False,
                                   description=_l("A heating station: at night and on holidays, calls go to the "
                                                  "estate's butler (the person on duty where an estate has none)."))


class PlaceForm(Form):
    code = StringField(_l("Code"), validators=[REQUIRED, CODE])
    kind = SelectField(_l("Kind"), choices=enum_options(PlaceKind), validators=[REQUIRED])
    name_zh = StringField(_l("Name (Chinese)"), validators=[REQUIRED, Length(max=60)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=80)])
    parent_id = SelectField(_l("Part of"), coerce=optional_id)
    service_point_id = SelectField(_l("Served by"), coerce=optional_id)
    household_count = IntegerField(_l("Households"), validators=[Optional(), NumberRange(min=0, max=1_000_000)])


class DaysField(FloatField):
    """A number of working days; anything else is explained in words a clerk reads, not "not a valid float"."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = float(valuelist[0])
        except (ValueError, TypeError):
            self.data = None
        if self.data is None or not math.isfinite(self.data):  # "nan" and "inf" are floats to Python, not days
            self.data = None
            raise ValueError(_l("Write a number of working days, such as 5 or 2.5."))


class ServiceItemForm(Form):
    code = StringField(_l("Code"), validators=[REQUIRED, CODE])
    category_zh = StringField(_l("Category (Chinese)"), validators=[REQUIRED, Length(max=40)])
    category_en = StringField(_l("Category (English)"), validators=[Length(max=60)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[REQUIRED, Length(max=80)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=120)])
    keywords = StringField(_l("Other names"), validators=[Length(max=200)],
                           description=_l("Names residents use, separated by spaces."))
    mode = SelectField(_l("Handled as"), choices=enum_options(Mode), validators=[REQUIRED])
    needs_approval = BooleanField(_l("Needs a higher office's approval"))
    # Left empty, 0: the item never needed the mainland.
    journeys = IntegerField(_l("Journeys off the island saved"), default=0, filters=[lambda n: 0 if n is None else n],
                            validators=[Optional(), NumberRange(min=0, max=9, message=_l("Between 0 and 9 journeys."))],
        description=_l("Resolved on the island, how many journeys to the mainland it spares the resident: "
                       "0 if it never needed one, 1, or 2 for an approval item (hand in, then collect)."))
    sla_hours = IntegerField(_l("Time limit (hours)"), validators=[
        InputRequired(_l("Give the time limit in hours.")),
        NumberRange(min=1, max=2400, message=_l("Between 1 and 2400 hours (100 working days)."))],
        description=_l("24 hours count as one working day."))
    urgent = BooleanField(_l("Urgent (limit counted in calendar hours)"))
    baseline_working_days = DaysField(
        _l("Working days before the network"),
        validators=[Optional(), NumberRange(min=0.1, max=500, message=_l("Between 0.1 and 500 working days."))],
        description=_l("How long the item took to finish when residents went to the mainland for it. The results "
                       "report measures the efficiency gain against it; leave it empty to leave the item out."))
    materials = TextAreaField(_l("Required materials"), validators=[Length(max=2000)],
                              description=_l("One per line."))
    approving_office = StringField(_l("Approving office"), validators=[Length(max=80)])


class TeamForm(Form):
    code = StringField(_l("Code"), validators=[REQUIRED, CODE])
    name_zh = StringField(_l("Name (Chinese)"), validators=[REQUIRED, Length(max=60)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=80)])
    service_point_id = SelectField(_l("Service point"), coerce=optional_id)
    capacity_per_slot = IntegerField(_l("Visits per half-day slot"), default=4, validators=[
        InputRequired(_l("This field is required.")), NumberRange(min=1, max=50, message=_l("Between 1 and 50."))])
    place_ids = SelectMultipleField(_l("Places covered"), coerce=int)
    season_evenings = BooleanField(_l("Visits in the evening in the fishing season"))
    season_weekends = BooleanField(_l("Visits on weekends in the fishing season"))


class OfficeForm(Form):
    code = StringField(_l("Code"), validators=[REQUIRED, CODE])
    name_zh = StringField(_l("Name (Chinese)"), validators=[REQUIRED, Length(max=60)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=80)])


def _after_first(form, field):
    if form.first.data and field.data and field.data < form.first.data:
        raise ValidationError(_l("The season ends on or after its first day."))


class FishingSeasonForm(Form):
    name = StringField(_l("Name"), validators=[Length(max=40)], description=_l("E.g. 2027年秋汛."))
    first = DateField(_l("First day"), validators=[InputRequired(_l("Give the date."))])
    last = DateField(_l("Last day"), validators=[InputRequired(_l("Give the date.")), _after_first])


# What a stock phrase may be offered under: the note form, or an action of the case page (``replies.offered``).
REPLY_ACTIONS = [("note", _l("Add a note"))] + [(name, t.label) for name, t in TRANSITIONS.items()]


class CannedReplyForm(Form):
    item_id = SelectField(_l("Service item"), coerce=optional_id,
                          description=_l("Leave empty to offer the phrase for every item."))
    status = SelectField(_l("Case status"), choices=options([(None, _l("— any —"))]) + enum_options(CaseStatus),
                         description=_l("Leave empty to offer the phrase in every status."))
    action = SelectField(_l("Offered under"), default="", choices=options([(None, _l("— any —")), *REPLY_ACTIONS]),
        description=_l("The action whose text the phrase is written in (a resolution's words under Resolve); leave "
                       "empty to offer it under every one."))
    text = TextAreaField(_l("Phrase"), validators=[REQUIRED, Length(max=500)])


class CalendarDayForm(Form):
    day = DateField(_l("Date"), validators=[InputRequired(_l("Give the date."))])
    kind = SelectField(_l("Kind"), choices=enum_options(DayKind), validators=[REQUIRED])
    name = StringField(_l("Name"), validators=[Length(max=40)], description=_l("E.g. 国庆节, 台风停航."))
    service_point_id = SelectField(_l("Service point"), coerce=optional_id,
                                   description=_l("Leave empty for the whole district."))


class ApiKeyForm(Form):
    name = StringField(_l("Kiosk or system"), validators=[InputRequired(_l("Name the kiosk or system.")),
                                                          Length(max=60)],
                       description=_l("For example kiosk-1 or wechat."))
    point = SelectField(_l("Service point"), validate_choice=False,
                        description=_l("Its cases go to this point (errands and visits to the point of the place)."))
    channel = SelectField(_l("Cases arrive as"), choices=options(
        (c.value, c.label) for c in (Channel.KIOSK, Channel.WECHAT)))


class AuditSearchForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Who, object id, address or reason"))
    action = SelectField(_l("Action"), validate_choice=False)
    object_type = SelectField(_l("Object"), validate_choice=False)
    first = DateField(_l("From"), validators=[Optional()])
    last = DateField(_l("To"), validators=[Optional()])
