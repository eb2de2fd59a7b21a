"""Forms of the auth area."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from portal.web.forms import Form


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[InputRequired(_l("Enter your username.")), Length(max=40)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password.")), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})


class ChangePasswordForm(Form):
    current = PasswordField(_l("Current password"), validators=[InputRequired(_l("Enter your current password."))],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password"), validators=[InputRequired(_l("Enter a new password."))],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(_l("Enter the new password again.")), EqualTo("new", _l("The two new passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
