"""Forms of the case page: one per action, each carrying the case version the user saw."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.domain.cases.lifecycle import OFFICE_ANSWERS
from portal.domain.platform.text import MAX_TEXT
from portal.models import Outcome, Priority, Satisfaction
from portal.web.forms import Phone, enum_options, optional_id, options

TEXT = Length(max=MAX_TEXT, message=_l("At most %(max)d characters, please."))
REASON = [InputRequired(_l("Give a reason; it goes on the case's timeline.")), TEXT]


class ActionForm(FlaskForm):
    """A button with nothing to fill in; the version guards against acting on a stale page."""

    version = IntegerField(validators=[InputRequired()])


class NoteForm(ActionForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), TEXT])


class ReasonForm(ActionForm):
    reason = TextAreaField(_l("Reason"), validators=REASON)


class ResolveForm(ActionForm):
    note = TextAreaField(_l("What was done (the resident sees this)"), validators=[
        InputRequired(_l("Say what was done; the resident sees it.")), TEXT])


class OfficeAnswerForm(ActionForm):
    answer = RadioField(_l("The office's answer"), choices=options(OFFICE_ANSWERS.items()),
                        validators=[InputRequired(_l("Choose the office's answer."))])
    note = TextAreaField(_l("Details (required unless approved)"), validators=[Optional(), TEXT])


class CallbackForm(ActionForm):
    outcome = RadioField(_l("Outcome"), choices=enum_options(Outcome), validators=[
        InputRequired(_l("Choose the outcome."))])
    satisfaction = RadioField(_l("Satisfaction"), choices=options(
        (s.value, s.label) for s in (Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.DISSATISFIED)),
        validators=[InputRequired(_l("Choose the satisfaction."))])
    comment = TextAreaField(_l("What the resident said"), validators=[Optional(), TEXT])


class TransferForm(ActionForm):
    point = SelectField(_l("To service point"), coerce=optional_id, validate_choice=False)
    owner = SelectField(_l("Or to a person"), coerce=optional_id, validate_choice=False)
    reason = TextAreaField(_l("Reason"), validators=REASON)


class AssignForm(ActionForm):
    owner = SelectField(_l("Person"), coerce=optional_id, validate_choice=False,
                        validators=[InputRequired(_l("Choose an active person."))])


class MergeForm(ActionForm):
    original = StringField(_l("Number of the original case"), validators=[
        InputRequired(_l("Give the number of the case this one repeats.")), Length(max=20)])


class NoAnswerForm(ActionForm):
    retry_at = DateTimeLocalField(_l("Call again at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), TEXT])


class TimelineNoteForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[InputRequired(_l("Write the note first.")), TEXT])
    public = BooleanField(_l("The resident may see this note"))


class EditForm(ActionForm):
    requester_name = StringField(_l("Full name"), validators=[InputRequired(_l("Give the resident's name.")),
                                                         Length(max=50)])
    requester_phone = StringField(_l("Phone"), validators=[InputRequired(_l("Enter the caller's phone number.")),
                                                           Phone()])
    address = StringField(_l("Address"), validators=[Length(max=200)])
    priority = SelectField(_l("Priority"), choices=enum_options(Priority))
    description = TextAreaField(_l("What the resident needs"), validators=[
        InputRequired(_l("Describe what the resident needs.")), TEXT])


# Which form each transition of portal.domain.cases.lifecycle.TRANSITIONS uses on the case page.
ACTION_FORMS = {
    "claim": ActionForm,
    "start": NoteForm,
    "send_off_island": NoteForm,
    "record_office_answer": OfficeAnswerForm,
    "resolve": ResolveForm,
    "finish_on_spot": NoteForm,
    "close": CallbackForm,
    "no_answer": NoAnswerForm,
    "return_case": ReasonForm,
    "transfer": TransferForm,
    "assign": AssignForm,
    "merge": MergeForm,
    "reopen": ReasonForm,
    "cancel": ReasonForm,
}
