"""Notifications: in the portal always, and by each channel that reaches the user (SMS to their phone, e-mail to
their address: ``portal.domain.platform.channels``).

Both are written in the transaction of the change that causes them: the notification row, and its messages in
the outbox (``portal.domain.platform.outbox``), which ``flask deliver`` sends afterwards, outside any
transaction, so a slow or failing gateway never holds up (on SQLite: holds the write lock against) or undoes
the change, and a change rolled back sends nothing.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.domain.platform import outbox, unit
from portal.extensions import db
from portal.models import Case, Notification, Supervision, User

TEXTS = {
    "remind": _l("Case %(number)s has used 75%% of its time limit; it is due %(due)s."),
    "overdue": _l("Case %(number)s is overdue (it was due %(due)s)."),
    "supervised": _l("Case %(number)s is now a problem case under supervision."),
    "responsible": _l("You are responsible for supervised case %(number)s; deadline %(due)s."),
    "extension_asked": _l("An extension of case %(number)s to %(due)s waits for your decision."),
    "extension_approved": _l("The extension of case %(number)s was approved; new due time %(due)s."),
    "extension_refused": _l("The extension of case %(number)s was refused; it stays due %(due)s."),
}


def text_of(notification: Notification) -> str:
    """The message, in the current language (the user's in a page; Chinese for SMS)."""
    case = notification.case
    due = ""
    if case is not None and case.due_at is not None:
        due = clock.local(case.due_at).strftime("%m-%d %H:%M")
    if notification.kind == "responsible" and case is not None:

        supervision = db.session.scalars(sa.select(Supervision).filter_by(case_id=case.id)).first()
        if supervision and supervision.deadline:
            due = clock.local(supervision.deadline).strftime("%m-%d %H:%M")
    return str(TEXTS[notification.kind] % {"number": case.number if case else "", "due": due})


def notify(users, kind: str, case: Case | None, key: str) -> list[Notification]:
    """Add a notification for each user unless one with this ``key`` exists, with its messages (the caller
    commits).

    Returns the notifications that were new, so callers can tell a first time from a repeat.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    created = []
    for user in {u.id: u for u in users}.values():
        row_id = db.session.execute(
            insert(Notification)
            .values(user_id=user.id, case_id=case.id if case else None, key=key[:80], kind=kind, created_at=clock.now())
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(Notification.id)
        ).scalar()
        if row_id is not None:
            created.append(row_id)
    rows = list(db.session.scalars(sa.select(Notification).where(Notification.id.in_(created)))) if created else []
    for row in rows:
        _send(row)
    return rows


def _send(notification: Notification) -> None:
    """The notification by each channel that reaches the user, where they left an address for it."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # messages go out in Chinese
        text = text_of(notification)
    outbox.tell_user(notification.kind, notification.user, text, f"notify:{notification.id}", case=notification.case,
                     subject=text[:40])


def unread_count(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def recent(user: User, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id)
        .options(sa.orm.joinedload(Notification.case))
        .order_by(Notification.id.desc()).limit(limit)
    ))


def mark_read(user: User) -> None:
    db.session.execute(
        sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
    )
    unit.end_step()
