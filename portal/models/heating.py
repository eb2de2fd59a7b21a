"""The heating district: duty rosters, estate incidents and home-visit campaigns (入户走访)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.cases import Case
from portal.models.choices import LabelledEnum
from portal.models.people import User
from portal.models.places import Household, Place, ServicePoint


class DutyShift(db.Model):
    """Who answers a heating station's calls at night and on holidays, one person per station per day."""

    __tablename__ = "duty_shifts"
    __table_args__ = (sa.UniqueConstraint("service_point_id", "day", name="uq_duty_shifts_point_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_point_id: Mapped[int] = mapped_column(sa.ForeignKey("service_points.id"))
    day: Mapped[date]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    service_point: Mapped[ServicePoint] = relationship()
    user: Mapped[User] = relationship()


incident_places = sa.Table(
    "incident_places",
    db.metadata,
    sa.Column("incident_id", sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("place_id", sa.ForeignKey("places.id", ondelete="CASCADE"), primary_key=True),
)


class Incident(db.Model):
    """A station-declared outage (a main-pipe repair cutting heat to estates until 18:00): calls from
    those estates are linked to it, and closing it resolves them with one note."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_point_id: Mapped[int] = mapped_column(sa.ForeignKey("service_points.id"))
    title: Mapped[str] = mapped_column(sa.String(100))
    notice: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[datetime] = mapped_column(default=clock.now)
    expected_end_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closing_note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    service_point: Mapped[ServicePoint] = relationship()
    places: Mapped[list[Place]] = relationship(secondary=incident_places, order_by="Place.code")
    created_by: Mapped[User] = relationship()
    cases: Mapped[list[Case]] = relationship(back_populates="incident", order_by="Case.id")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


campaign_places = sa.Table(
    "campaign_places",
    db.metadata,
    sa.Column("campaign_id", sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("place_id", sa.ForeignKey("places.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(db.Model):
    """A home-visit campaign (入户走访) over estates and dates."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # Repeated every month from its start to its end (访问暖: each household visited once a month of the
    # heating season); a household's door is recorded once per round.
    monthly: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    places: Mapped[list[Place]] = relationship(secondary=campaign_places, order_by="Place.code")
    created_by: Mapped[User] = relationship()

    def round_of(self, day: date) -> date:
        """The round a visit on ``day`` belongs to: its month's first day (a monthly campaign), else the start."""
        return day.replace(day=1) if self.monthly else self.starts_on


class VisitResult(LabelledEnum):
    VISITED = "visited", _l("Visited")
    NOT_HOME = "not_home", _l("Not at home")
    FINDING = "finding", _l("A finding")


class Finding(LabelledEnum):
    """What a door shows, in the heating company's own words (each becomes a case of its fault category)."""
    FINE = "fine", _l("Heating is fine")
    NOT_WARM = "not_warm", _l("Radiator not warm")
    UNEVEN = "uneven", _l("Uneven heating")
    AIR_LOCK = "air_lock", _l("Air lock")
    LEAK = "leak", _l("Leak")
    BELOW_STANDARD = "below_standard", _l("Temperature below standard")
    UNSAFE = "unsafe", _l("Unsafe running")
    POOR_SERVICE = "poor_service", _l("Poor service")
    OTHER = "other", _l("Other")


class CampaignVisit(db.Model):
    """What a butler found at one household in one campaign (the latest call counts)."""

    __tablename__ = "campaign_visits"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "household_id", "round", name="uq_campaign_visits_round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=clock.now)
    round: Mapped[date]  # Campaign.round_of the visit's day
    by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    result: Mapped[VisitResult]
    finding: Mapped[Finding | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(default=1)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))

    campaign: Mapped[Campaign] = relationship()
    household: Mapped[Household] = relationship()
    by: Mapped[User] = relationship()
    case: Mapped[Case | None] = relationship()


class SeasonPhase(LabelledEnum):
    """Where a day stands in the heating season (``domain.heating.phase_on``)."""
    NOT_SET = "not_set", _l("No heating season set")
    TRIAL = "trial", _l("Trial heating (low-temperature running)")
    SEASON = "season", _l("The season proper (full heating)")
    ENDED = "ended", _l("Heating season ended")


class HeatingSeason(db.Model):
    """One heating season as the administrator set it: trial heating (low-temperature running) from
    ``trial_from``, the season proper from ``season_from``, its last day ``ends_on``. Seasons do not overlap."""

    __tablename__ = "heating_seasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    trial_from: Mapped[date] = mapped_column(unique=True)
    season_from: Mapped[date]
    ends_on: Mapped[date]
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(default=clock.now)

    set_by: Mapped[User | None] = relationship()


class ReadingSource(LabelledEnum):
    DOOR = "door", _l("At the door (campaign)")
    FAULT = "fault", _l("On a fault")


class TemperatureReading(db.Model):
    """A room temperature a butler measured in a household, with the standard in force when it was taken (a
    later change of the setting does not rewrite what was below it then) and the case it opened or updated."""

    __tablename__ = "temperature_readings"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    celsius: Mapped[float] = mapped_column(sa.Numeric(4, 1, asdecimal=False))
    standard: Mapped[float] = mapped_column(sa.Numeric(4, 1, asdecimal=False))
    source: Mapped[ReadingSource]
    phase: Mapped[SeasonPhase] = mapped_column(default=SeasonPhase.NOT_SET)
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)

    household: Mapped[Household] = relationship()
    by: Mapped[User] = relationship()
    case: Mapped[Case | None] = relationship()

    @property
    def meets_standard(self) -> bool:
        return self.celsius >= self.standard
