"""The notice form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.web.forms import Form


class NoticeForm(Form):
    title = StringField(_l("Title"), validators=[InputRequired(_l("Give the notice a title.")), Length(max=100)])
    body = TextAreaField(_l("Text"), validators=[Optional(), Length(max=5000)],
                         description=_l("Plain text, or Markdown: **bold**, lists with -, links. "
                                        "Pictures and scripts are removed."))
    place = SelectField(_l("For"), validate_choice=False)
    valid_from = DateField(_l("Shows from"), validators=[InputRequired(_l("Enter the first day the notice shows."))])
    valid_to = DateField(_l("Shows until"), validators=[InputRequired(_l("Enter the last day the notice shows."))])
    version = HiddenField()
