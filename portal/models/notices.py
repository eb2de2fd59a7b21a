"""Notices (信息发布) for a place or the whole district."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.people import User
from portal.models.places import Place


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
