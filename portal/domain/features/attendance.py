"""The island staff's "3+2" week as it is lived: each day on the island, off it carrying errands, or on leave.

The committee's staff are on the island three days a week and off it two (the off-island days of their point's
week), and they are assessed on their days on the island. Each records the day on their home page (the first
press of the day; a second press changes it); the point's board shows, for the period, each one's days on the
island against the working days of the point's calendar (``timekeeping``), and their days off the island.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import DomainError, access
from portal.domain.boards import counters
from portal.domain.cases import timekeeping
from portal.domain.platform import audit, unit
from portal.extensions import db
from portal.models import Attendance, AttendanceKind, Role, ServicePoint, User


def today_of(user: User) -> Attendance | None:
    return db.session.scalars(sa.select(Attendance).where(Attendance.user_id == user.id,
                                                          Attendance.day == clock.today())).first()


def record(user: User, kind: AttendanceKind) -> Attendance:
    """Record where ``user`` is today (again: the day's record changes)."""
    access.require(user, "attendance.record", message=_l("Only the island's staff record their days."))
    if not isinstance(kind, AttendanceKind):
        raise DomainError(_l("Say where you are today."), field="kind")
    row = today_of(user) or Attendance(user_id=user.id, day=clock.today())
    old = row.kind
    row.kind, row.recorded_at = kind, clock.now()
    db.session.add(row)
    counters.mark([f"point:{user.service_point_id}"], clock.now())  # the point's board shows it: its ETag moves
    audit.record("attendance", actor=user, object_type="users", object_id=str(user.id),
                 changes={"kind": (old.value if old else None, kind.value)}, reason=clock.today().isoformat())
    unit.commit()
    return row


@dataclass
class Line:
    """One member of staff over a period: days on the island against the point's working days."""

    user: User
    on_island: int
    off_island: int
    leave: int
    working_days: int

    @property
    def unrecorded(self) -> int:
        return max(self.working_days - self.on_island - self.leave, 0)


def of_point(point: ServicePoint, first: date, last: date) -> list[Line]:
    """The staff of ``point`` over ``first``–``last`` (up to today), by name."""
    last = min(last, clock.today())
    staff = db.session.scalars(sa.select(User).where(User.service_point_id == point.id, User.active,
                                                     User.role.in_([Role.STAFF, Role.LEAD]))
                               .order_by(User.display_name)).all()
    if not staff or last < first:
        return []
    counts = {(row.user_id, row.kind): row.n for row in db.session.execute(
        sa.select(Attendance.user_id, Attendance.kind, sa.func.count().label("n"))
        .where(Attendance.user_id.in_([u.id for u in staff]), Attendance.day >= first, Attendance.day <= last)
        .group_by(Attendance.user_id, Attendance.kind))}
    calendar = timekeeping.calendar_for(point, clock.local_midnight(first))
    days = (last - first).days + 1
    working = sum(calendar.kind_of(date.fromordinal(first.toordinal() + n)) == "W" for n in range(days))
    return [Line(u, counts.get((u.id, AttendanceKind.ON_ISLAND), 0), counts.get((u.id, AttendanceKind.OFF_ISLAND), 0),
                 counts.get((u.id, AttendanceKind.LEAVE), 0), working) for u in staff]
