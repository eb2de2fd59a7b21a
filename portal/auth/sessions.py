"""Session rules: who the cookie belongs to, idle and absolute timeouts.

The session lives in Flask's signed cookie, so any worker on any server can serve any request. It
holds the user id with the session epoch (see ``User.get_id``), the login time and the time of the
last request; nothing of it is kept in process memory.
"""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, flash, g, make_response, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import refresh as refresh_language
from flask_login import current_user, login_user, logout_user

from portal import clock
from portal.domain.platform import audit, snapshot
from portal.extensions import db, login_manager
from portal.models import User
from portal.web import replay
from portal.web.htmx import is_htmx, safe_next

# Requests that refresh a region on their own (badge and board polling) must not keep an idle
# session alive; the templates mark them with this header.
POLL_HEADER = "X-Portal-Poll"


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.jinja_env.globals["session_deadline"] = deadline
    login_manager.session_protection = None  # the epoch and timeouts below do this job

    @app.before_request
    def bind_audit_address():
        g.audit_token = audit.bind_address(request.remote_addr or "")

    @app.teardown_request
    def forget_request_state(_exc):
        token = g.pop("audit_token", None)
        if token is not None:
            audit.unbind_address(token)
        # Flask-Login keeps the user in ``g``, which lives as long as the application context; when a
        # context outlives one request (a test that also calls the domain), the next request must
        # still load its own user from its own cookie.
        g.pop("_login_user", None)
        refresh_language()  # Flask-Babel caches the language in ``g`` too

    @app.before_request
    def enforce_timeouts():
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        now = clock.now().timestamp()
        config = current_app.config
        login_at = session.get("login_at", 0)
        seen = session.get("seen", 0)
        if (
            now - login_at > config["SESSION_ABSOLUTE_HOURS"] * 3600
            or now - seen > config["SESSION_IDLE_MINUTES"] * 60
        ):
            logout_user()
            session.clear()
            flash(_l("Your session has expired. Please sign in again."), "info")
            return to_login()
        if request.headers.get(POLL_HEADER) is None and now - seen > 30:
            session["seen"] = now
        return None


def deadline() -> str:
    """When this session ends unless the user does something first (ISO, UTC): kept with a form that waits in the
    browser's outbox, so that what was done offline after it would have ended is sent only once the user, signed
    in again, confirms it (static/portal.js)."""
    config = current_app.config
    ends = min(session.get("seen", 0) + config["SESSION_IDLE_MINUTES"] * 60,
               session.get("login_at", 0) + config["SESSION_ABSOLUTE_HOURS"] * 3600)
    return datetime.fromtimestamp(ends, UTC).isoformat()


def ended_elsewhere() -> bool:
    """Whether this request's cookie names a session that has ended since it was made, not by its own timeouts:
    the user signed out (which signs out every device), changed their password, an administrator ended their
    sessions or switched the account off. A device told so forgets the pages it keeps (portal/offline)."""
    return bool(session.get("_user_id")) and not current_user.is_authenticated


def _page_path() -> str | None:
    """The page to return to after signing in: for htmx, the page the user was on, not the fragment."""
    if is_htmx():
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current.netloc and current.netloc != request.host:
            return None
        return safe_next(current.path + (f"?{current.query}" if current.query else "")) if current.path else None
    return request.full_path.rstrip("?") if request.method == "GET" else None


def to_login():
    """Send an anonymous or expired user to the login page; an htmx request redirects the whole page; the
    browser's outbox is told 401, and keeps what it holds until the user signs in again."""
    if replay.is_replay():
        return replay.signed_out()
    target = url_for("auth.login", next=_page_path())
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@login_manager.unauthorized_handler
def unauthorized():
    flash(_l("Please sign in to see this page."), "info")
    return to_login()


# Built once: a statement built afresh each request is walked again for its cache key, which costs more than running it.
_USER_WITH_STAMPS = sa.select(User, *snapshot.STAMPS).where(User.id == sa.bindparam("user_id"))


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user of a session cookie, unless their sessions were ended since it was made."""
    user_id, _, epoch = session_id.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    row = db.session.execute(_USER_WITH_STAMPS, {"user_id": int(user_id)}).first()
    if row is None:
        return None
    user = row[0]
    snapshot.note_stamps(row[1:])  # what the worker keeps of the directory is checked in the same statement
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    return user


def start_session(user: User) -> None:
    """Begin a fresh session for ``user`` (the old cookie's content is dropped)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    stamp = clock.now().timestamp()
    session["login_at"] = stamp
    session["seen"] = stamp
