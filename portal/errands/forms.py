"""Forms of the errands area; each handover names who confirmed it, and takes their signature (drawn on the
screen, or a photo of the signed slip)."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.domain.cases.lifecycle import OFFICE_ANSWERS
from portal.domain.platform.text import MAX_TEXT
from portal.models import SailingReason
from portal.web.forms import Form, enum_options, options

CONFIRMED = [InputRequired(_l("Write who confirmed the handover (the resident, the office's clerk).")),
             Length(max=50)]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SignedForm(Form):
    """A handover's signature: the screen's pad fills ``signature`` (a PNG, by static/signature.js); a photo of
    the signed paper slip goes in ``signature_photo`` (and is what works without JavaScript)."""

    signature = HiddenField()
    signature_photo = FileField(_l("Or a photo of the signed slip"),
                                render_kw={"accept": "image/jpeg,image/png,application/pdf"})


class CollectForm(SignedForm):
    materials = MultiCheckboxField(_l("Documents received"), coerce=int,
                                   validators=[InputRequired(_l("Tick the documents that changed hands."))])
    confirmed_by = StringField(_l("Handed over by (the resident's name)"), validators=CONFIRMED)


class SubmitForm(SignedForm):
    confirmed_by = StringField(_l("Received by (the office's clerk)"), validators=CONFIRMED)


class SubmitAllForm(SubmitForm):
    day = DateField(_l("Off-island day"), validators=[InputRequired()])


class AnswerForm(SignedForm):
    answer = RadioField(_l("The office's answer"), choices=options(OFFICE_ANSWERS.items()),
                        validators=[InputRequired(_l("Choose the office's answer."))])
    note = TextAreaField(_l("Details (required unless approved)"), validators=[Optional(), Length(max=MAX_TEXT)])
    more = TextAreaField(_l("Documents the office asks for (one per line)"), validators=[Optional(), Length(max=500)])
    confirmed_by = StringField(_l("Documents given back by (the office's clerk)"), validators=[Optional(),
                                                                                           Length(max=50)])


class DeliverForm(SignedForm):
    note = TextAreaField(_l("What the resident receives (the resident sees this)"), validators=[
        InputRequired(_l("Say what was done; the resident sees it.")), Length(max=MAX_TEXT)])
    confirmed_by = StringField(_l("Received by (the resident's name)"), validators=CONFIRMED)


class SailingForm(Form):
    """A lead marks an off-island day's sailing cancelled (停航)."""

    day = DateField(_l("Off-island day"), validators=[InputRequired(_l("Give the day whose sailing is cancelled."))])
    reason = RadioField(_l("Why the boat does not sail"), choices=enum_options(SailingReason), default="fog",
                        validators=[InputRequired(_l("Say why the boat does not sail: fog, wind or another reason."))])
    note = StringField(_l("Other reason"), validators=[Optional(), Length(max=200)])


class RestoreSailingForm(Form):
    """A lead undoes a cancellation made in error, saying why."""

    undo_reason = StringField(_l("Why the sailing is restored"),
                              validators=[InputRequired(_l("Say why the sailing is restored.")), Length(max=200)])
