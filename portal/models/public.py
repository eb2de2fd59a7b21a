"""What the public side of the portal keeps: API keys of kiosks and other systems (Open311), rate
counters, and notices (信息发布)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.cases import Channel
from portal.models.people import User
from portal.models.places import Place, ServicePoint


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


class Notice(db.Model):
    """A notice (通知公告) for one place and the places below it, or the whole district (no place),
    shown from ``valid_from`` to ``valid_to`` on kiosks, the public pages and staff home pages."""

    __tablename__ = "notices"
    __table_args__ = (sa.Index("ix_notices_valid", "valid_from", "valid_to"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    # Markdown (or plain text); shown as sanitised HTML.
    body: Mapped[str] = mapped_column(sa.Text, default="")
    place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("places.id"))
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    withdrawn_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    place: Mapped[Place | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}
