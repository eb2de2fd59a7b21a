"""Helpers shared by the forms of every area."""
from __future__ import annotations

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from flask_wtf.i18n import translations as wtforms_translations
from wtforms import Field, IntegerField, SelectChoice, ValidationError
from wtforms.validators import NumberRange, Optional

from portal import clock
from portal.domain import DomainError
from portal.domain.platform import privacy
from portal.extensions import MAX_ID

# WTForms' own words where its Chinese catalog misses them (its entry for a choice no longer in the list is marked
# fuzzy, so never used): said in ours, so that no refusal reaches a clerk in English.
WTFORMS_WORDS = (_ln("'%(value)s' is not a valid choice for this field.",
                     "'%(value)s' are not valid choices for this field.", 1),)


class _Words:
    """The translations forms use: the portal's catalog first, then WTForms' own."""

    def gettext(self, string: str) -> str:
        ours = get_translations().ugettext(string)
        return ours if ours != string else wtforms_translations.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        ours = get_translations().ungettext(singular, plural, n)
        return ours if ours not in (singular, plural) else wtforms_translations.ngettext(singular, plural, n)


class Form(FlaskForm):
    """Every form of the portal: CSRF (Flask-WTF), and WTForms' messages in the reader's language."""

    class Meta:
        def get_translations(self, form):
            return _Words()


def optional_id(value) -> int | None:
    """Coerce a select field's value to the id of a row (None for the empty choice); an id no row can
    have is not a valid choice."""
    if value in (None, "", "None"):
        return None
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(value)
    return number


class IdField(IntegerField):
    """The id of a row, sent back by a page (a hidden field, a radio button); optional."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, [Optional(), NumberRange(1, MAX_ID, message=_l("Choose again from the list.")),
                                 *(validators or [])], **kwargs)


def aware(moment):
    """A local date and time typed into a form, as an aware datetime (None stays None)."""

    return moment.replace(tzinfo=clock.LOCAL_TZ) if moment is not None else None


def with_picked_slot(formdata, day: str = "day", slot: str = "slot"):
    """The posted form, with a free half-day picked from an offered list (a button ``pick`` = "day|slot")
    filled in as its day and slot fields."""
    formdata = formdata.copy()
    picked_day, _sep, picked_slot = formdata.get("pick", "").partition("|")
    if picked_day and picked_slot:
        formdata[day], formdata[slot] = picked_day, picked_slot
    return formdata


def options(pairs) -> list[SelectChoice]:
    """Choices for a select field from ``(value, label)`` pairs; None becomes the empty value."""
    return [SelectChoice("" if value is None else value, label) for value, label in pairs]


def enum_options(enum_class) -> list[SelectChoice]:
    return options((member.value, member.label) for member in enum_class)


def attach_error(form, error: DomainError, default_field: str | None = None) -> None:
    """Show a domain error next to the field it names, or at the top of the form."""
    name = error.field or default_field
    field: Field | None = getattr(form, name, None) if name else None
    if isinstance(field, Field):
        field.errors = [*field.errors, error.message] if isinstance(field.errors, list) else [error.message]
    else:
        form.form_errors.append(error.message)


class Phone:
    """Validate a mainland mobile or landline number (or one abroad, with its country code), and leave the field
    holding it in the one form numbers are stored and compared in (``privacy.normalise_phone``)."""

    def __init__(self, message=None):
        self.message = message or _l("Enter a mobile number of 11 digits, a landline with its area code, "
                                     "or a number abroad starting with +.")

    def __call__(self, form, field):
        if not field.data:
            return
        phone = privacy.normalise_phone(field.data)
        if not privacy.is_valid_phone(phone):
            raise ValidationError(self.message)
        field.data = phone


class IdNumber:
    """Validate an 18-digit resident ID number by its check digit."""

    def __call__(self, form, field):
        if not field.data:
            return
        value = field.data.strip().upper()
        if not privacy.is_valid_id_number(value):
            raise ValidationError(_l("This ID number is not valid (18 characters, check the last one)."))
        field.data = value


class UploadForm(Form):
    """A photo or file for a case (a phone offers its camera for it)."""

    file = FileField(_l("Scan or photo (JPEG, PNG or PDF, at most 5 MB)"),
                     validators=[FileRequired(_l("Choose a file."))],
                     render_kw={"accept": "image/jpeg,image/png,application/pdf"})
