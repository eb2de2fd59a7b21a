"""Language and time-zone choice, and names shown in the current language.

Chinese is the default; the choice of English is kept in the session by the switch in the header.
"""
from __future__ import annotations

from flask import current_app, has_request_context, session
from flask_babel import get_locale


def select_locale() -> str:
    if has_request_context():
        chosen = session.get("lang")
        if chosen in current_app.config["LANGUAGES"]:
            return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def is_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def localized(obj, field: str = "name") -> str:
    """Return ``obj.<field>_en`` in English when it has one, else ``obj.<field>_zh``."""
    if obj is None:
        return ""
    if is_english():
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, f"{field}_zh")
