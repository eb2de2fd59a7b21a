"""The forms of the supervision panel on the case page: asking for an extension, deciding one, supervising."""
from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Optional

from portal.cases.forms import REASON, TEXT
from portal.web.forms import Form, optional_id


class ExtensionForm(Form):
    new_due_at = DateTimeLocalField(_l("New due time"), format="%Y-%m-%dT%H:%M", validators=[
        InputRequired(_l("Give the new due time."))])
    reason = TextAreaField(_l("Reason"), validators=REASON)


class DecisionForm(Form):
    note = TextAreaField(_l("Note (required when refusing)"), validators=[Optional(), TEXT])


class SuperviseForm(Form):
    responsible = SelectField(_l("Responsible person"), coerce=optional_id, validate_choice=False,
                              validators=[InputRequired(_l("Choose an active person."))])
    deadline = DateTimeLocalField(_l("Deadline"), format="%Y-%m-%dT%H:%M", validators=[
        InputRequired(_l("Give the deadline."))])
    instruction = TextAreaField(_l("Instruction"), validators=[Optional(), TEXT])
