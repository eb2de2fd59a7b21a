"""Booked home visits (预约上门服务) by the on-site teams, in half-day slots."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.cases import Case
from portal.models.choices import LabelledEnum
from portal.models.people import Team, User


class Slot(LabelledEnum):
    AM = "am", _l("Morning")
    PM = "pm", _l("Afternoon")
    EVENING = "evening", _l("Evening")  # only in the fishing season, for a team that opens evenings


class VisitStatus(LabelledEnum):
    BOOKED = "booked", _l("Booked")
    STARTED = "started", _l("Under way")
    DONE = "done", _l("Done")
    CANCELLED = "cancelled", _l("Cancelled")


class VisitKind(LabelledEnum):
    REQUEST = "request", _l("Requested by the resident")
    CARE = "care", _l("Regular care visit")


ACTIVE_VISITS = (VisitStatus.BOOKED, VisitStatus.STARTED)


class FishingSeason(db.Model):
    """A fishing season (渔季) as an administrator sets it: from ``first`` to ``last``, teams that open them
    visit in the evening and on weekends too (fishermen are at sea by day)."""

    __tablename__ = "fishing_seasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), default="")
    first: Mapped[date]
    last: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)


class Visit(db.Model):
    """A home visit of one case, by one team, on one day and half-day slot."""

    __tablename__ = "visits"
    __table_args__ = (
        sa.Index("ix_visits_team_day_slot", "team_id", "day", "slot"),
        # A case has at most one visit booked or under way.
        sa.Index("uq_visits_active_case", "case_id", unique=True,
                 sqlite_where=sa.text("status IN ('booked', 'started')"),
                 postgresql_where=sa.text("status IN ('booked', 'started')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"), index=True)
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id"))
    day: Mapped[date] = mapped_column(index=True)
    slot: Mapped[Slot]
    kind: Mapped[VisitKind] = mapped_column(default=VisitKind.REQUEST)
    status: Mapped[VisitStatus] = mapped_column(default=VisitStatus.BOOKED, index=True)
    booked_at: Mapped[datetime] = mapped_column(default=clock.now)
    booked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The resident chose the half-day themself, by the link of their SMS (staff see it on the visit).
    booked_by_resident: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # What was done, and what the resident confirmed (in their words, or "signed").
    work_done: Mapped[str] = mapped_column(sa.Text, default="")
    resident_confirmed: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship(back_populates="visits")
    team: Mapped[Team] = relationship()
    booked_by: Mapped[User | None] = relationship(foreign_keys=[booked_by_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])


# The half-days in the order of the day (the column holds "am", "pm", "evening": alphabetically the evening would
# come before the afternoon): what lists of visits are ordered by.
IN_THE_DAY = sa.case({Slot.AM.value: 0, Slot.PM.value: 1, Slot.EVENING.value: 2},
                     value=sa.cast(Visit.__table__.c.slot, sa.String), else_=3)
