"""Session rules: who the cookie belongs to, idle and absolute timeouts.

The session lives in Flask's signed cookie, so any worker on any server can serve any request. It
holds the user id with the session epoch (see ``User.get_id``), the login time and the time of the
last request; nothing of it is kept in process memory.
"""
from __future__ import annotations

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from portal import clock
from portal.domain import audit
from portal.extensions import db, login_manager
from portal.models import User

# Requests that refresh a region on their own (badge and board polling) must not keep an idle
# session alive; the templates mark them with this header.
POLL_HEADER = "X-Portal-Poll"


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the epoch and timeouts below do this job

    @app.before_request
    def bind_audit_address():
        g.audit_token = audit.bind_address(request.remote_addr or "")

    @app.teardown_request
    def unbind_audit_address(_exc):
        token = g.pop("audit_token", None)
        if token is not None:
            audit.unbind_address(token)

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
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        if request.headers.get(POLL_HEADER) is None and now - seen > 30:
            session["seen"] = now
        return None


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user of a session cookie, unless their sessions were ended since it was made."""
    user_id, _, epoch = session_id.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    user = db.session.get(User, int(user_id))
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
