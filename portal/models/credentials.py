"""Who may call the portal without a session: API keys of kiosks and other systems (Open311), and the
rate counters that throttle them and every guess at a secret."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.cases import Case, Channel
from portal.models.people import User
from portal.models.places import ServicePoint


class ApiKey(db.Model):
    """The key of one kiosk or system that logs cases through Open311, at one service point.

    Only the SHA-256 of the key is kept; ``prefix`` (its first characters) tells keys apart in lists.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    service_point_id: Mapped[int] = mapped_column(sa.ForeignKey("service_points.id"))
    # The channel its cases arrive by: a kiosk at a post, or WeChat and other systems.
    channel: Mapped[Channel] = mapped_column(default=Channel.KIOSK)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    service_point: Mapped[ServicePoint] = relationship()
    created_by: Mapped[User | None] = relationship()


class RateHit(db.Model):
    """How many times something was done in one window of time ("key:12", "ip:10.0.0.5",
    "lookup:LS-20261128-0001"): throttles that hold across every worker."""

    __tablename__ = "rate_hits"
    __table_args__ = (sa.UniqueConstraint("key", "window_start", name="uq_rate_hits_key_window"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(120))
    window_start: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(default=0)


class IdempotentRequest(db.Model):
    """A POST of a kiosk or system that carried an idempotency key, and the case it logged: the same key sent
    again (a retry after a lost answer) answers that case instead of logging a second one."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (sa.UniqueConstraint("api_key_id", "key", name="uq_idempotent_requests_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(sa.String(120))
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class Replay(db.Model):
    """A signed-in user's action that carried a key made in the browser when they acted (online, or kept in the
    browser's outbox while the link was down and sent later): the same key sent again is answered with this
    first result, and nothing is done twice. Written in the transaction of the action itself."""

    __tablename__ = "replays"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_replays_user_id_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(64))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"))
    acted_at: Mapped[datetime | None]  # when the user acted, by their device's clock (never after arrived_at)
    arrived_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    # What the first answer said, so that a key sent again is answered with the same: the case the step changed
    # (and all it changed), the version the outbox moves the user's later steps on that case to, its message and
    # where it led (portal/web/replay.py).
    answer: Mapped[dict | None] = mapped_column(sa.JSON)

    case: Mapped[Case | None] = relationship()
