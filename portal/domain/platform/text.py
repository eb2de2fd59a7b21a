"""What people type: trimmed, required where a message says so, and never longer than its column."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.domain import DomainError

MAX_TEXT = 2000  # notes, reasons, descriptions: what the timeline keeps of a person's words


def typed(value: str | None, field: str, limit: int = MAX_TEXT, required=None) -> str:
    """``value`` trimmed; a ``DomainError`` on ``field`` when it is empty and ``required`` (the message saying
    what to write) is given, or when it is longer than ``limit``."""
    text = (value or "").strip()
    if required is not None and not text:
        raise DomainError(required, field=field)
    if len(text) > limit:
        raise DomainError(_l("At most %(n)d characters, please (this has %(m)d).", n=limit, m=len(text)),
                          field=field)
    return text


def stored(message) -> str:
    """A text the portal writes into a case (a description, a timeline note) in the portal's language, whatever
    the language of the person who acted: a resident reads it later in Chinese."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(message)
