"""Notifications: in the portal always, and through an outbound channel where one is configured.

SMS gateways differ from city to city, so the outbound channel is pluggable: set ``NOTIFY_CHANNEL``
to the import path of a class with ``send(recipient, text)`` (see ``LogChannel``); the portal ships only
the log channel, which writes what it would send to the application log. The channel is called
after the notification is committed and outside any transaction, so a slow or failing gateway never holds
up (on SQLite: holds the write lock against) or undoes the change that caused it; ``sent_at`` records what
went out.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.domain.platform import privacy, unit
from portal.extensions import begin_mode, db
from portal.models import Case, Notification, Supervision, User

log = logging.getLogger("portal.notify")

TEXTS = {
    "remind": _l("Case %(number)s has used 75%% of its time limit; it is due %(due)s."),
    "overdue": _l("Case %(number)s is overdue (it was due %(due)s)."),
    "supervised": _l("Case %(number)s is now a problem case under supervision."),
    "responsible": _l("You are responsible for supervised case %(number)s; deadline %(due)s."),
    "extension_asked": _l("An extension of case %(number)s to %(due)s waits for your decision."),
    "extension_approved": _l("The extension of case %(number)s was approved; new due time %(due)s."),
    "extension_refused": _l("The extension of case %(number)s was refused; it stays due %(due)s."),
}


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to, as read before sending (a channel never reads the database)."""

    id: int
    username: str
    display_name: str
    phone: str

    @classmethod
    def of(cls, user: User) -> Recipient:
        return cls(user.id, user.username, user.display_name, user.phone or "")


class OutboundChannel(Protocol):
    """What an SMS (or other) gateway adapter provides."""

    def send(self, user: Recipient, text: str) -> None: ...


class LogChannel:
    """Writes each message to the log instead of sending it (the default)."""

    def send(self, user: Recipient, text: str) -> None:
        log.info("notify %s (%s): %s", user.username, privacy.mask_phone(user.phone), text)


def outbound() -> OutboundChannel:
    path = current_app.config.get("NOTIFY_CHANNEL", "portal.domain.platform.notify.LogChannel")
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)()


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
    """Add a notification for each user unless one with this ``key`` exists (the caller commits).

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
    return list(db.session.scalars(sa.select(Notification).where(Notification.id.in_(created)))) if created else []


def send(notification_ids: list[int]) -> None:
    """Pass notifications to the outbound channel once the change that made them is committed."""
    if notification_ids:
        unit.after_commit(lambda: _deliver(list(notification_ids)))


def _deliver(notification_ids: list[int]) -> None:
    """Send committed notifications and note when they went out. Nothing is held while the channel works (a
    gateway may take seconds a message): the messages are read and the read ended first, each is sent outside
    any transaction, and the ones that went out are marked in one short write."""
    channel = outbound()
    with begin_mode("DEFERRED"):  # SQLite: a plain read, without the write lock
        rows = db.session.scalars(sa.select(Notification).where(Notification.id.in_(notification_ids))
                                  .options(sa.orm.joinedload(Notification.user))).all()
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # SMS go out in Chinese
            messages = [(row.id, Recipient.of(row.user), text_of(row)) for row in rows]
        db.session.rollback()
    sent = []
    for notification_id, user, text in messages:
        try:
            channel.send(user, text)
        except Exception:  # noqa: BLE001 - a gateway failure must not break the portal
            log.exception("outbound channel failed for notification %s", notification_id)
            continue
        sent.append(notification_id)
    if sent:
        db.session.execute(sa.update(Notification).where(Notification.id.in_(sent)).values(sent_at=clock.now()))
        db.session.commit()


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
    db.session.commit()
