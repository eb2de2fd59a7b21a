"""Holidays and make-up working days (调休), for the whole district or one service point."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.choices import LabelledEnum
from portal.models.places import ServicePoint


class DayKind(LabelledEnum):
    HOLIDAY = "holiday", _l("Holiday")
    WORKDAY = "workday", _l("Make-up working day")


class CalendarDay(db.Model):
    """A date that differs from the usual week: a public holiday, or a weekend day worked instead."""

    __tablename__ = "calendar_days"
    __table_args__ = (sa.UniqueConstraint("day", "service_point_id", name="uq_calendar_days_day_point"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    kind: Mapped[DayKind]
    name: Mapped[str] = mapped_column(sa.String(40), default="")
    # None: the whole district; else only this point (a typhoon closing one post, say).
    service_point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_points.id"))
    active: Mapped[bool] = mapped_column(default=True)

    service_point: Mapped[ServicePoint | None] = relationship()


class YearStatus(LabelledEnum):
    PROVISIONAL = "provisional", _l("Provisional")
    CONFIRMED = "confirmed", _l("Confirmed")


class CalendarYear(db.Model):
    """Whether a year's holidays and make-up days are known: confirmed from the State Council's notice, or
    provisional (the statutory holidays from a maintained library, without the make-up days) until an
    administrator confirms them. A year without a row is missing."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[YearStatus]
    source: Mapped[str] = mapped_column(sa.String(120), default="")
    changed_at: Mapped[datetime] = mapped_column(default=clock.now)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class SailingReason(LabelledEnum):
    FOG = "fog", _l("Fog")
    WIND = "wind", _l("Wind")
    OTHER = "other", _l("Other")


class CancelledSailing(db.Model):
    """An off-island day on which the boat did not sail (停航): the island's errands stay on the island, the
    day is no off-island day (``timekeeping.WorkCalendar.sailing_cancelled``). Undone by setting ``active`` off, with who,
    when and why; a day is cancelled at most once at a time (a partial unique index on the active rows)."""

    __tablename__ = "cancelled_sailings"
    __table_args__ = (
        sa.Index("uq_cancelled_sailings_day", "day", unique=True,
                 sqlite_where=sa.text("active"), postgresql_where=sa.text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column()
    reason: Mapped[SailingReason]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancelled_at: Mapped[datetime] = mapped_column(default=clock.now)
    active: Mapped[bool] = mapped_column(default=True)
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    undone_at: Mapped[datetime | None]
    undo_reason: Mapped[str] = mapped_column(sa.String(200), default="")

    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])  # noqa: F821 (the registry's)
    undone_by: Mapped[User | None] = relationship(foreign_keys=[undone_by_id])  # noqa: F821
