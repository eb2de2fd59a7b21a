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
