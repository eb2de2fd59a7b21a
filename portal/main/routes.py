"""Routes of the main area."""
from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.domain import access, attendance, notices
from portal.domain.cases import queues
from portal.domain.platform import notify, unit
from portal.main import bp
from portal.models import AttendanceKind
from portal.web.guards import allow_signed_in, me, public
from portal.web.htmx import render, safe_next
from portal.web.navigation import entries_for
from portal.web.submit import run


@bp.get("/")
@allow_signed_in
def home():
    """Show the signed-in user's home page: the pages of their role."""
    user = me()
    counts = queues.counts(user) if access.can(user, "case.todo") else {}
    today = attendance.today_of(user) if access.can(user, "attendance.record") else None
    work = [(tab, counts[tab.key]) for tab in queues.tabs_for(user) if counts.get(tab.key) is not None]
    return render("main/home.html", entries=entries_for(current_user), notices=notices.for_user(user), work=work,
                  today=today, attendance_kinds=attendance.kinds_today(user) if today is None else [])


@bp.post("/attendance")
@allow_signed_in
def record_attendance():
    """Record where the member of staff is today (on the island, off it on errands, on leave)."""
    kind = request.form.get("kind", "")
    done = run(lambda: attendance.record(me(), AttendanceKind(kind) if kind in {k.value for k in AttendanceKind}
                                         else None))
    if done.ok:
        flash(_("Today: %(kind)s.", kind=done.value.kind.label), "success")
    return redirect(url_for("main.home"), code=303)


@bp.get("/login")
@public
def login():
    """The address people type: the sign-in page is under /auth."""
    return redirect(url_for("auth.login", next=safe_next(request.args.get("next"))), code=301)


@bp.post("/language")
@public
def switch_language():
    """Switch the interface between Chinese and English."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")) or url_for("main.home"), code=303)


@bp.get("/notifications")
@allow_signed_in
def notifications():
    """The user's reminders and messages, newest first."""
    return render("main/notifications.html", items=notify.recent(me()), text_of=notify.text_of)


@bp.post("/notifications/read")
@allow_signed_in
def read_notifications():
    """Mark every notification as read."""
    unit.with_retries(lambda: notify.mark_read(me()))
    return redirect(url_for("main.notifications"), code=303)
