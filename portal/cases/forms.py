"""Forms of the case page: one per thing a transition asks for (``Transition.asks``), each carrying the case version
the user saw and turning what was typed into the arguments of the transition's service."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.domain.cases.lifecycle import OFFICE_ANSWERS, TRANSITIONS
from portal.domain.platform.text import MAX_TEXT
from portal.extensions import db
from portal.models import Outcome, Priority, Satisfaction, ServicePoint, User
from portal.web.forms import Form, Phone, aware, enum_options, optional_id, options

TEXT = Length(max=MAX_TEXT, message=_l("At most %(max)d characters, please."))
REASON = [InputRequired(_l("Give a reason; it goes on the case's timeline.")), TEXT]


class ActionForm(Form):
    """A step of the lifecycle; the version guards against acting on a stale page."""

    version = IntegerField(validators=[InputRequired()])

    def arguments(self) -> dict:
        """What the transition's service is called with, besides the case and the user."""
        return {"version": self.version.data}


class ClaimForm(ActionForm):
    """A button with nothing to fill in. Claiming is atomic: whoever is first wins, whatever version they saw."""

    def arguments(self) -> dict:
        return {}


class NoteForm(ActionForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), TEXT])

    def arguments(self) -> dict:
        return {**super().arguments(), "note": self.note.data or ""}


class ReasonForm(ActionForm):
    reason = TextAreaField(_l("Reason"), validators=REASON)

    def arguments(self) -> dict:
        return {**super().arguments(), "reason": self.reason.data}


class ResolveForm(ActionForm):
    note = TextAreaField(_l("What was done (the resident sees this)"), validators=[
        InputRequired(_l("Say what was done; the resident sees it.")), TEXT])

    def arguments(self) -> dict:
        return {**super().arguments(), "note": self.note.data}


class OfficeAnswerForm(ActionForm):
    answer = RadioField(_l("The office's answer"), choices=options(OFFICE_ANSWERS.items()),
                        validators=[InputRequired(_l("Choose the office's answer."))])
    note = TextAreaField(_l("Details (required unless approved)"), validators=[Optional(), TEXT])

    def arguments(self) -> dict:
        return {**super().arguments(), "answer": self.answer.data, "note": self.note.data or ""}


class CallbackForm(ActionForm):
    outcome = RadioField(_l("Outcome"), choices=enum_options(Outcome), validators=[
        InputRequired(_l("Choose the outcome."))])
    satisfaction = RadioField(_l("Satisfaction"), choices=options(
        (s.value, s.label) for s in (Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.DISSATISFIED)),
        validators=[InputRequired(_l("Choose the satisfaction."))])
    comment = TextAreaField(_l("What the resident said"), validators=[Optional(), TEXT])

    def arguments(self) -> dict:
        return {**super().arguments(), "outcome": Outcome(self.outcome.data),
                "satisfaction": Satisfaction(self.satisfaction.data), "comment": self.comment.data or ""}


class TransferForm(ActionForm):
    point = SelectField(_l("To service point"), coerce=optional_id, validate_choice=False)
    owner = SelectField(_l("Or to a person"), coerce=optional_id, validate_choice=False)
    reason = TextAreaField(_l("Reason"), validators=REASON)

    def arguments(self) -> dict:
        return {**super().arguments(), "reason": self.reason.data,
                "point": db.session.get(ServicePoint, self.point.data) if self.point.data else None,
                "owner": db.session.get(User, self.owner.data) if self.owner.data else None}


class AssignForm(ActionForm):
    owner = SelectField(_l("Person"), coerce=optional_id, validate_choice=False,
                        validators=[InputRequired(_l("Choose an active person."))])

    def arguments(self) -> dict:
        return {**super().arguments(), "owner": db.session.get(User, self.owner.data) if self.owner.data else None}


class MergeForm(ActionForm):
    original = StringField(_l("Number of the original case"), validators=[
        InputRequired(_l("Give the number of the case this one repeats.")), Length(max=20)])

    def arguments(self) -> dict:
        return {**super().arguments(), "original_number": self.original.data}


class NoAnswerForm(ActionForm):
    retry_at = DateTimeLocalField(_l("Call again at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), TEXT])

    def arguments(self) -> dict:
        return {**super().arguments(), "retry_at": aware(self.retry_at.data), "note": self.note.data or ""}


class TimelineNoteForm(Form):
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


# The form of each thing a transition of the case page asks for (``Transition.asks``).
FORMS = {
    "nothing": ClaimForm,
    "note": NoteForm,
    "result": ResolveForm,
    "office_answer": OfficeAnswerForm,
    "callback": CallbackForm,
    "call_again": NoAnswerForm,
    "reason": ReasonForm,
    "point_or_person": TransferForm,
    "person": AssignForm,
    "original": MergeForm,
}

# Which form each transition offered on the case page uses, read from the table.
ACTION_FORMS = {t.name: FORMS[t.asks] for t in TRANSITIONS.values() if t.on_page}
