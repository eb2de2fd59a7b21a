"""Friendly error pages in the user's language; never a stack trace.

An htmx request gets the message alone (``errors/_message.html``) with ``HX-Retarget`` pointing at
the page's message area, so a failed click explains itself where the user is looking.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from portal.domain import DomainError
from portal.domain.platform import unit
from portal.open311.formats import error as open311_error
from portal.web import NotUtf8, replay
from portal.web.htmx import is_htmx

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your role does not allow this. If you need it, ask your station head.")),
    404: (_l("Not found"), _l("There is no such page, or it is not yours to see.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Changed by someone else"), _l("Someone changed this in the meantime. Reload to see the latest.")),
    413: (_l("File too large"), _l("What you sent is larger than the portal accepts: scans and photos at most "
                                   "5 MB, spreadsheets at most 10 MB. Go back and choose a smaller file.")),
    429: (_l("Too many requests"), _l("Too many attempts. Wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("The portal hit an error. Nothing you entered was half-saved; please try again.")),
}


def error_page(status: int, message=None, title=None, reload: bool = False):
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    context = dict(status=status, title=title or default_title, message=message or default_message, reload=reload)
    if is_htmx():
        headers = {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
        return render_template("errors/_message.html", **context), status, headers
    return render_template("errors/error.html", **context), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if replay.is_replay():  # the outbox asks for a fresh token and sends it again
            return replay.try_again(str(_l("The page has expired")))
        return error_page(
            400,
            title=_l("The page has expired"),
            message=_l("This page was open too long or was opened elsewhere. Reload it and submit again."),
            reload=True,
        )

    @app.errorhandler(NotUtf8)
    def not_utf8(error: NotUtf8):
        return error_page(400, message=_l("The form was not sent in UTF-8, so nothing was saved. Send it again from "
                                          "the portal's page, or set the sending system to UTF-8."))

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        unit.abandon()
        return error_page(error.status, message=error.message)

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):
        # A Host the portal does not answer for (TRUSTED_HOSTS): no page can be built for it, since every link on
        # it would name that host. A plain answer, in both languages, with nothing of the request in it.
        return ("400 请求的主机名不属于本门户 / The host named by this request is not this portal's.\n", 400,
                {"Content-Type": "text/plain; charset=utf-8"})

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/open311/"):  # API clients get the spec's error format

            fmt = "json" if request.path.endswith(".json") else "xml"
            return open311_error(fmt, error.code or 500, error.description or "")
        return error_page(error.code or 500)

    @app.errorhandler(sa.exc.DataError)
    def value_out_of_range(error: sa.exc.DataError):
        # A value the database cannot hold (a number too large for its column) got past the forms: it names
        # nothing, so it is a bad request, not a fault; one line in the log, no trace anyone could trigger.
        unit.abandon()
        app.logger.warning("refused a value the database cannot hold on %s %s", request.method, request.path)
        return error_page(400)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        unit.abandon()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_page(500)
