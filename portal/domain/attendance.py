"""The island staff's "3+2" week as it is lived: each day on the island, off it carrying errands, or on leave.

The committee's staff are on the island three days a week and off it two (the off-island days of their point's
week), and they are assessed on their days on the island. Each records the day on their home page (the first
press of the day; a second press changes it); the point's board shows, for the period, each one's days on the
island against the working days of the point's calendar (``timekeeping``), and their days off the island.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.domain import DomainError, access
from portal.domain.boards import counters
from portal.domain.cases import timekeeping
from portal.domain.platform import audit, unit
from portal.extensions import db
from portal.models import Attendance, AttendanceKind, ServicePoint, User


def today_of(user: User) -> Attendance | None:
    return db.session.scalars(sa.select(Attendance).where(Attendance.user_id == user.id,
                                                          Attendance.day == clock.today())).first()


def record(user: User, kind: AttendanceKind) -> Attendance:
    """Record where ``user`` is today (again: the day's record changes; two presses at once make one)."""
    access.require(user, "attendance.record", message=_l("Only the island's staff record their days."))
    if not isinstance(kind, AttendanceKind):
        raise DomainError(_l("Say where you are today."), field="kind")
    old = today_of(user)
    before = old.kind.value if old else None
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(Attendance).values(user_id=user.id, day=clock.today(), kind=kind, recorded_at=clock.now())
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["user_id", "day"], set_={"kind": statement.excluded.kind,
                                                 "recorded_at": statement.excluded.recorded_at}))
    counters.mark([f"point:{user.service_point_id}"], clock.now())  # the point's board shows it: its ETag moves
    audit.record("attendance", actor=user, object_type="users", object_id=str(user.id),
                 changes={"kind": (before, kind.value)}, reason=clock.today().isoformat())
    unit.end_step()
    db.session.expire_all()
    return today_of(user)


@dataclass
class Line:
    """One member of staff over a period: days on the island against the point's working days."""

    user: User
    on_island: int
    off_island: int
    leave: int
    working_days: int
    unrecorded: int  # working days with no record at all


def of_point(point: ServicePoint, first: date, last: date) -> list[Line]:
    """The staff of ``point`` who record their days, over ``first``–``last`` (up to today), by name."""
    last = min(last, clock.today())
    staff = [u for u in db.session.scalars(sa.select(User).where(User.service_point_id == point.id, User.active)
                                           .order_by(User.display_name)) if access.can(u, "attendance.record")]
    if not staff or last < first:
        return []
    records: dict[int, dict[date, AttendanceKind]] = {u.id: {} for u in staff}
    for row in db.session.execute(sa.select(Attendance.user_id, Attendance.day, Attendance.kind).where(
            Attendance.user_id.in_(list(records)), Attendance.day >= first, Attendance.day <= last)):
        records[row.user_id][row.day] = row.kind
    calendar = timekeeping.calendar_for(point, clock.local_midnight(first))
    working = [d for d in (first + timedelta(days=n) for n in range((last - first).days + 1))
               if calendar.kind_of(d) == "W"]
    lines = []
    for user in staff:
        days = records[user.id]
        kinds = list(days.values())
        lines.append(Line(user, kinds.count(AttendanceKind.ON_ISLAND), kinds.count(AttendanceKind.OFF_ISLAND),
                          kinds.count(AttendanceKind.LEAVE), len(working), sum(d not in days for d in working)))
    return lines
