"""Plumbing shared by every web area: request hooks, template helpers and security headers."""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, current_app, g, request
from flask_babel import gettext, ngettext
from flask_login import current_user
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter
from werkzeug.wsgi import ClosingIterator

from portal import clock
from portal.domain import access, visits
from portal.domain.cases import calendar_years
from portal.domain.platform import privacy, snapshot, unit
from portal.extensions import MAX_ID, reset_begin_mode, set_begin_mode
from portal.web import i18n, navigation, security

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def writes_nothing(view):
    """Mark a POST view that writes nothing to the database (checking an upload), so that it does not hold
    SQLite's write lock while it works."""
    view.writes_nothing = True
    return view


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a whole number that an id column can hold. A larger one matches no
    route (404) instead of reaching the database, which would refuse it."""

    def __init__(self, url_map, fixed_digits=0, min=1, max=MAX_ID, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(url_map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    security.init_app(app)

    @app.before_request
    def reads_do_not_lock():
        # What runs before the view (loading the user, the session's checks, a replay's key) only reads, and GET
        # requests change nothing (a rule of the portal): their transactions never take SQLite's write lock, so
        # they never queue behind a writer. A request's change takes it where its unit of work begins
        # (``unit.unit_of_work``), inside the retries; a write outside a unit is refused (``unit.refuse_loose_writes``).
        g._begin_tokens = [set_begin_mode("DEFERRED")]

    @app.before_request
    def forget_what_access_worked_out():
        # Places and users may have changed since the last request that used this database session.
        access.people.forget()

    def refuse_forms_not_in_utf8():
        # A form sent in GBK (percent-encoded or raw) would otherwise be stored as "%B0%EF…" or dropped in
        # silence; it is refused, saying why, and nothing is saved. It runs before every other check (CSRF's
        # among them): whatever parses the form first consumes the body, and the check would then see none.
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype == "application/x-www-form-urlencoded":
            if not form_is_utf8(request.get_data(cache=True)):
                raise NotUtf8()

    app.before_request_funcs.setdefault(None, []).insert(0, refuse_forms_not_in_utf8)

    @app.before_request
    def refuse_nul_characters():
        # No text a person types contains NUL; PostgreSQL cannot store it, and it only ever comes from
        # a client probing the parsers.
        # A request without a body type has no form: reading ``request.form`` would only build an empty one.
        for values in (request.args, request.form) if request.want_form_data_parsed else (request.args,):
            if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
                abort(400)

    @app.teardown_request
    def restore_begin_mode(_exc):
        for token in reversed(g.pop("_begin_tokens", [])):
            reset_begin_mode(token)

    app.jinja_env.globals.update(
        can=can,
        nav_entries=lambda: navigation.entries_for(current_user._get_current_object()),
        localized=i18n.localized,
        is_english=i18n.is_english,
        now=clock.now,
    )
    app.jinja_env.globals["due_status"] = due_status
    app.jinja_env.globals["visit_startable"] = visits.startable
    app.jinja_env.globals["visit_startable_tomorrow"] = visits.startable_tomorrow
    app.jinja_env.globals["catalog"] = snapshot.catalog
    # Leads and administrators are told, on their home page and boards, when the working calendar runs out.
    app.jinja_env.globals["calendar_warning"] = (
        lambda: calendar_years.warning(manages=can("calendar.manage")) if can("calendar.warned") else None)
    app.jinja_env.filters.update(
        local=format_local,
        localdate=format_local_date,
        filesize=format_size,
        phone=privacy.mask_phone,
        masked_name=privacy.mask_name,
        id_number=privacy.mask_id_number,
    )


def can(permission: str, obj=None) -> bool:
    """Whether the signed-in user may do ``permission`` (to ``obj``): what templates ask before showing an
    action, so that a button appears exactly when the action would be allowed."""
    return access.can(current_user._get_current_object(), permission, obj)


def arg_id(name: str) -> int | None:
    """An id from the query string; None when it is missing or no row could have it."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else None


class ChunkedBodies:
    """WSGI middleware that gives a chunked request body (one sent without Content-Length) its length, so that
    one over ``MAX_CONTENT_LENGTH`` is refused with 413 like any other, instead of being cut at the limit and
    read as if whole. It reads at most one byte past the limit (spilled to a temporary file past 1 MB)."""

    def __init__(self, wsgi_app, limit: Callable[[], int | None]):
        self.wsgi_app, self.limit = wsgi_app, limit

    def __call__(self, environ, start_response):
        limit = self.limit()
        if limit is not None and not environ.get("CONTENT_LENGTH") and \
                "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body, size, source = tempfile.SpooledTemporaryFile(max_size=1 << 20), 0, environ["wsgi.input"]
            while size <= limit and (chunk := source.read(min(1 << 16, limit + 1 - size))):
                body.write(chunk)
                size += len(chunk)
            body.seek(0)
            # De-chunked, with its length (Werkzeug ignores a length beside "chunked"): past the limit, 413.
            environ.update({"wsgi.input": body, "CONTENT_LENGTH": str(size)})
            environ.pop("HTTP_TRANSFER_ENCODING")
            return ClosingIterator(self.wsgi_app(environ, start_response), body.close)
        return self.wsgi_app(environ, start_response)


class NotUtf8(BadRequest):
    description = "the body is not UTF-8: send the form in UTF-8 (percent-encoded UTF-8 bytes)"


def form_is_utf8(raw: bytes) -> bool:
    """Whether an URL-encoded body is UTF-8 throughout: its bytes, and each percent-encoded name and value."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    for pair in text.split("&"):
        for piece in pair.split("=", 1):
            try:
                unquote_to_bytes(piece.replace("+", " ")).decode("utf-8")
            except UnicodeDecodeError:
                return False
    return True


def begin_the_view_afresh() -> None:
    """The last hook before a writing view: end the read the hooks before it made (keeping what they loaded), so
    the view reads what is there now. Its reads take no lock; its change takes SQLite's write lock where its unit
    of work begins (``unit.unit_of_work``), inside the retries."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method in SAFE_METHODS or getattr(view, "writes_nothing", False):
        return
    unit.end_read()


def client_address() -> str:
    """Who is asking, for throttles: the address (behind ``PROXY_COUNT`` trusted proxies, the one they
    saw), with an IPv6 address cut to its /64, which one household or device usually holds whole."""
    address = request.remote_addr or ""
    if ":" in address:
        return ":".join(address.split(":")[:4]) + "::/64"
    return address


def format_local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """Format a UTC timestamp in local time."""
    if moment is None:
        return ""
    return clock.local(moment).strftime(pattern)


def format_local_date(moment: datetime | None) -> str:
    return format_local(moment, "%Y-%m-%d")


def format_size(size: int | None) -> str:
    """A file's size as people read it: 312 B, 4.2 KB, 1.5 MB (never "0 KB" for a small file)."""
    size = size or 0
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def due_status(due_at: datetime | None, is_open: bool = True) -> dict | None:
    """How a due time reads: "due in 3 h" or "overdue by 1 day", and its colour class."""
    if due_at is None or not is_open:
        return None
    left = (due_at - clock.now()).total_seconds()
    hours = abs(left) / 3600
    if hours >= 48:
        amount = ngettext("%(num)d day", "%(num)d days", int(hours // 24))
    elif hours >= 1:
        amount = ngettext("%(num)d h", "%(num)d h", int(hours))
    else:
        amount = ngettext("%(num)d min", "%(num)d min", max(int(abs(left) // 60), 1))
    if left < 0:
        return {"text": gettext("overdue by %(amount)s", amount=amount), "css": "due-over"}
    return {"text": gettext("due in %(amount)s", amount=amount), "css": "due-soon" if hours < 4 else "due-ok"}
