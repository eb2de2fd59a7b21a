"""Every user-visible string is translated into Chinese, the default language."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "portal" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def _source_messages() -> set[str]:
    found = set()
    method_map = [("portal/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    # Babel skips directories named "_…" by default; templates/_macros holds strings too.
    visible = lambda path: not Path(path).name.startswith(".") and Path(path).name != "__pycache__"  # noqa: E731
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords, directory_filter=visible
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_code_has_a_chinese_translation():
    with open(CATALOG, "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id}
    missing = sorted(m for m in _source_messages() if not translated.get(m))
    assert missing == [], "run `make messages` and translate: " + "; ".join(missing[:20])


def test_the_end_of_a_date_range_is_not_a_recipient(app):
    """"To" is the end of a date range (boards, queue filters, audit, campaigns); the messages page's column of
    addresses says "Recipient" (收件人) in its own words."""
    from flask_babel import force_locale, gettext

    with app.test_request_context("/"), force_locale("zh_CN"):
        assert (gettext("From"), gettext("To"), gettext("Recipient")) == ("起始日期", "截止日期", "收件人")


def test_a_request_speaks_the_language_chosen_last_even_after_it_has_spoken(app):
    """The request's catalog is looked up once (portal/web/i18n.py: Catalogs), and looked up again when the language
    is chosen again: forced for a message, or switched and refreshed within the request."""
    from flask import render_template_string, session
    from flask_babel import force_locale, gettext, refresh

    with app.test_request_context("/"):
        assert gettext("To") == "截止日期"
        with force_locale("en"):
            assert gettext("To") == "To" and render_template_string("{{ _('To') }}") == "To"
        assert gettext("To") == "截止日期" and render_template_string("{{ _('To') }}") == "截止日期"
        session["lang"] = "en"
        refresh()
        assert gettext("To") == "To" and render_template_string("{{ _('To') }}") == "To"


def test_a_template_escapes_what_is_put_into_a_translation(app):
    from flask import render_template_string

    with app.test_request_context("/"):
        page = render_template_string("{{ _('%(n)s new', n='<b>') }} {{ ngettext('%(num)d day', '%(num)d days', 2) }}")
        assert page == "&lt;b&gt; new 2 天"


def test_a_choice_no_longer_in_the_list_is_refused_in_chinese(app):
    from wtforms import SelectChoice, SelectMultipleField

    from portal.web.forms import Form

    class Pick(Form):  # WTForms' Chinese catalog has this message only as fuzzy: it came out in English
        estate = SelectMultipleField(choices=[SelectChoice("12", "海之韵")])

    with app.test_request_context("/", method="POST", data={"estate": "13"}):
        form = Pick(meta={"csrf": False})
        assert not form.validate()
        assert form.estate.errors == ["“13”不在可选项中，请重新选择（页面可能已过时，可刷新后再试）。"]
