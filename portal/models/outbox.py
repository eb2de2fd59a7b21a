"""Messages to residents and staff (SMS, e-mail), written in the transaction of the event that causes them and
delivered afterwards by ``flask deliver`` (the transactional outbox), and the addresses that want none."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.extensions import db
from portal.models.choices import LabelledEnum


class MessageStatus(LabelledEnum):
    PENDING = "pending", _l("Waiting to be sent")
    SENDING = "sending", _l("Being sent")
    SENT = "sent", _l("Sent")
    DEAD = "dead", _l("Given up")


class MessageChannel(LabelledEnum):
    """How a message goes, as stored: one member for each channel registered in ``portal.domain.platform.channels``
    (whose module holds everything else about it)."""

    SMS = "sms", _l("SMS")
    EMAIL = "email", _l("E-mail")


class OutboxMessage(db.Model):
    """One message to one address. ``key`` names the event it tells of ("receipt:<case number>"), so that an
    event written twice sends once, and is passed to the gateway so that a retry it already received can be
    recognised there too. A worker claims a message for ``LEASE`` seconds (``claimed_until``); a worker that
    dies mid-send leaves it to be claimed again when the lease runs out (delivery is at least once)."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    channel: Mapped[MessageChannel]
    address: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(120), default="")
    text: Mapped[str] = mapped_column(sa.String(500))
    kind: Mapped[str] = mapped_column(sa.String(24))
    to_resident: Mapped[bool] = mapped_column(default=False)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    status: Mapped[MessageStatus] = mapped_column(default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime] = mapped_column(default=clock.now)
    claimed_until: Mapped[datetime | None]
    worker: Mapped[str] = mapped_column(sa.String(80), default="")
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None]


class OptOut(db.Model):
    """An address (a resident's phone) that asked for no more messages (回复 TD 退订, or at a counter)."""

    __tablename__ = "message_opt_outs"

    address: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now)
