"""Where residents live and where they are served: places, service points, households, residents."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.choices import LabelledEnum


class PlaceKind(LabelledEnum):
    ISLAND = "island", _l("Island")
    VILLAGE = "village", _l("Village")
    HAMLET = "hamlet", _l("Hamlet")
    DISTRICT = "district", _l("Heating district")
    ESTATE = "estate", _l("Estate")


class PointKind(LabelledEnum):
    SERVICE_CENTER = "service_center", _l("Service center")
    POST = "post", _l("Service post")
    OFFSHORE_HALL = "offshore_hall", _l("Off-island service hall")
    HEATING_STATION = "heating_station", _l("Heating service station")


class Place(db.Model):
    """An island, village, hamlet, heating district or estate; places form a tree."""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[PlaceKind]
    name_zh: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(80), default="")
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("places.id"))
    # The service point that serves this place (the CSV's served_by); use_alter breaks the
    # places <-> service_points cycle when the tables are created.
    service_point_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_points.id", use_alter=True)
    )
    # Households the place is known to have (from the census or the heating company), which may be
    # more than the households registered in the portal.
    household_count: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Place | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Place]] = relationship(back_populates="parent", order_by="Place.code")
    service_point: Mapped[ServicePoint | None] = relationship(foreign_keys=[service_point_id])

    def __repr__(self) -> str:
        return f"<Place {self.code}>"


class ServicePoint(db.Model):
    """A service center, service post, off-island hall or heating station."""

    __tablename__ = "service_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[PointKind]
    name_zh: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(80), default="")
    place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("places.id"))
    on_island: Mapped[bool] = mapped_column(default=False)
    # First part of the numbers of cases this point logs: LS-20261128-0001.
    case_prefix: Mapped[str] = mapped_column(sa.String(8), default="LS")
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    # Working hours and the week (W on site, O off the island, R rest), as portal.domain.cases.timekeeping reads them.
    hours: Mapped[str] = mapped_column(sa.String(60), default="08:30-12:00,13:30-17:30")
    week: Mapped[str] = mapped_column(sa.String(7), default="WWWWWRR")
    # Heating stations work through public holidays: the district's holidays do not stop their clock.
    observes_holidays: Mapped[bool] = mapped_column(default=True)
    # A heating station's butlers answer their estates' calls out of hours too (the duty person when an
    # estate has no butler); otherwise the person on duty answers every call out of hours.
    butlers_on_call: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    # post_update: places and service points refer to each other, so one side is set after insert.
    place: Mapped[Place | None] = relationship(foreign_keys=[place_id], post_update=True)

    def __repr__(self) -> str:
        return f"<ServicePoint {self.code}>"


class Household(db.Model):
    """A household at an address, with the flags that decide who gets service at home."""

    __tablename__ = "households"
    __table_args__ = (
        sa.UniqueConstraint("place_id", "address", name="uq_households_place_address"),
        # Covers counting a place's active households (an estate's campaign coverage) without reading rows.
        sa.Index("ix_households_place_active", "place_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(24), unique=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"))
    address: Mapped[str] = mapped_column(sa.String(200))
    building: Mapped[str | None] = mapped_column(sa.String(40))
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    phone2: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    elderly_alone: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    bedridden: Mapped[bool] = mapped_column(default=False)
    busy_in_season: Mapped[bool] = mapped_column(default=False)
    # Months of the busy season as comma-separated numbers, e.g. "5,6,7,8,9".
    season_months: Mapped[str | None] = mapped_column(sa.String(40))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    place: Mapped[Place] = relationship()
    residents: Mapped[list[Resident]] = relationship(back_populates="household", order_by="Resident.id")

    @property
    def needs_home_service(self) -> bool:
        return self.elderly_alone or self.disabled or self.bedridden or self.busy_in_season

    def __repr__(self) -> str:
        return f"<Household {self.code}>"


class Resident(db.Model):
    """A person living in a household."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    # A person has one ID number and one entry here (imports match by it); many may have none.
    id_number: Mapped[str | None] = mapped_column(sa.String(18), index=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    household: Mapped[Household] = relationship(back_populates="residents")

    def __repr__(self) -> str:
        return f"<Resident {self.id}>"
