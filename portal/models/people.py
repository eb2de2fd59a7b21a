"""Who works in the portal: users and their roles, on-site teams, and failed logins."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.choices import LabelledEnum
from portal.models.places import Place, ServicePoint


class Role(LabelledEnum):
    ADMIN = "admin", _l("Administrator")
    STAFF = "staff", _l("Station staff")
    PROXY = "proxy", _l("Party-member proxy")
    TEAM = "team", _l("On-site team member")
    BUTLER = "butler", _l("District butler")
    LEAD = "lead", _l("Station head or leader")


user_places = sa.Table(
    "user_places",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("place_id", sa.ForeignKey("places.id", ondelete="CASCADE"), primary_key=True),
)

team_places = sa.Table(
    "team_places",
    db.metadata,
    sa.Column("team_id", sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("place_id", sa.ForeignKey("places.id", ondelete="CASCADE"), primary_key=True),
)


class Office(db.Model):
    """An office (科室) of the administration: its staff are stationed on the island at least three days a
    week ("3+2") and assessed on it, each of them and the office as a whole."""

    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(80), default="")
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Office {self.code}>"


class Team(db.Model):
    """An on-site service team (上门服务队) and the places it covers."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(80), default="")
    service_point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_points.id"))
    # Home visits the team can take in one half-day slot.
    capacity_per_slot: Mapped[int] = mapped_column(default=4)
    # In the fishing season (``FishingSeason``) the team also visits in the evening, and on weekends.
    season_evenings: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    season_weekends: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The SHA-256 of the secret in the address of the team's calendar feed (iCalendar), for members' phones;
    # the address itself is shown once, when it is issued.
    calendar_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)

    service_point: Mapped[ServicePoint | None] = relationship()
    places: Mapped[list[Place]] = relationship(secondary=team_places, order_by="Place.code")
    members: Mapped[list[User]] = relationship(back_populates="team", order_by="User.username")

    def __repr__(self) -> str:
        return f"<Team {self.code}>"


class User(UserMixin, db.Model):
    """A person who signs in: staff, proxy, team member, butler, lead or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    email: Mapped[str | None] = mapped_column(sa.String(200))  # for reminders by e-mail (staff)
    role: Mapped[Role]
    service_point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_points.id"))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offices.id"), index=True)  # 科室
    is_team_lead: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    # Bumped to end every session of the user at once (logout, password change, deactivation).
    session_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_login_at: Mapped[datetime | None]

    service_point: Mapped[ServicePoint | None] = relationship()
    team: Mapped[Team | None] = relationship(back_populates="members")
    office: Mapped[Office | None] = relationship()
    places: Mapped[list[Place]] = relationship(secondary=user_places, order_by="Place.code")

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.active

    def get_id(self) -> str:
        # The epoch travels in the session: once it is bumped, every older session stops loading.
        return f"{self.id}:{self.session_epoch}"

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class FailedLogin(db.Model):
    """A failed sign-in (or one being checked), kept in the database so that throttling holds across all
    workers and servers; ``username`` is kept in lower case."""

    __tablename__ = "failed_logins"
    __table_args__ = (sa.Index("ix_failed_logins_address_at", "address", "at"),
                      sa.Index("ix_failed_logins_username_at", "username", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now)
    address: Mapped[str] = mapped_column(sa.String(64))
    username: Mapped[str] = mapped_column(sa.String(80), default="")


class AttendanceKind(LabelledEnum):
    ON_ISLAND = "on_island", _l("Working on the island")
    OFF_ISLAND = "off_island", _l("Off the island on errands")
    LEAVE = "leave", _l("On leave")


class Attendance(db.Model):
    """Where a member of the island's staff was on a day ("3+2": three days on the island, two off it carrying
    errands); they are assessed on their days on the island."""

    __tablename__ = "attendance"
    __table_args__ = (sa.UniqueConstraint("user_id", "day", name="uq_attendance_user_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    kind: Mapped[AttendanceKind]
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)
    # A lead's correction (or a day filled in for the member): who, and why; the audit log keeps each one.
    corrected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    corrected_by: Mapped[User | None] = relationship(foreign_keys=[corrected_by_id])
