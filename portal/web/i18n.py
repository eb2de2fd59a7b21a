"""Language and time-zone choice, and names shown in the current language.

Chinese is the default; the choice of English is kept in the session by the switch in the header.
"""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, session
from flask_babel import Domain, get_locale
from jinja2 import pass_eval_context
from markupsafe import Markup

from portal.extensions import babel

_KEPT = "portal_catalog"  # the request's (locale, catalog), beside Flask-Babel's own state of the request in ``g``


class Catalogs(Domain):
    """Flask-Babel's domain, with the request's catalog looked up once a request instead of once a string (Flask-Babel
    walks its state in ``g`` three times and names the locale for every string, and a page shows dozens). The
    catalog is kept beside the locale it was chosen for, so a locale chosen again (``refresh``, ``force_locale``)
    chooses the catalog again."""

    def get_translations(self):
        try:
            state = g.get("_flask_babel")
        except RuntimeError:  # outside an application context: Flask-Babel's answer (no translations)
            return super().get_translations()
        kept = getattr(state, _KEPT, None)
        if kept is not None and kept[0] is getattr(state, "babel_locale", None):
            return kept[1]
        translations = super().get_translations()
        state = g.get("_flask_babel")  # Flask-Babel's state of the request, with the locale it chose
        setattr(state, _KEPT, (state.babel_locale, translations))
        return translations


def init_app(app: Flask) -> None:
    """Flask-Babel, with the catalog looked up once a request (``Catalogs``) and the templates' ``_``, ``gettext`` and
    ``ngettext`` calling it directly: Jinja's own go through two more calls each. They do what Jinja's "newstyle"
    gettext does: in an autoescaped template the translation is safe and what is put into it is escaped."""
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    babel.domain_instance = Catalogs(domain=app.config.get("BABEL_DOMAIN", "messages"))
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)


def _catalog():
    return babel.domain_instance.get_translations()


@pass_eval_context
def template_gettext(eval_ctx, string: str, **variables):
    text = _catalog().ugettext(string)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def template_ngettext(eval_ctx, singular: str, plural: str, num: int, **variables):
    variables.setdefault("num", num)
    text = _catalog().ungettext(singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


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
