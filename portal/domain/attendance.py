"""The island staff's "3+2" week as it is lived and assessed: each day on the island, off it carrying errands,
or on leave; each office (科室) stationed on the island at least three days a week.

A member of staff records a day once (today, or a missed day of the last week, ``FILL_IN_DAYS``); a day is
"on the island" only on a working day of the island (W in their point's calendar: Monday to Wednesday of the
"3+2" week, after holidays and make-up days); an off-island day is off the island or leave; a rest day or a
holiday records nothing. A lead corrects a day, or fills in an older one, with a reason (audited). Only
on-island working days count as days on the island, whatever was recorded before these rules.

The rules of the assessment (docs/METRICS.md, "The 3+2 assessment"): a person's week asks for
``min(WEEKLY_MINIMUM, working days − days on leave)`` days on the island; an office's week asks for
``min(WEEKLY_MINIMUM, working days)`` days on which at least one of its people was on the island. A week is
judged once it has ended; a month is assessed over the weeks whose Monday falls in it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import Conflict, DomainError, access
from portal.domain.boards import counters
from portal.domain.cases import timekeeping
from portal.domain.platform import audit, unit
from portal.domain.platform.text import typed
from portal.extensions import db
from portal.models import Attendance, AttendanceKind, Office, ServicePoint, User

WEEKLY_MINIMUM = 3  # days on the island a week ("3+2")
FILL_IN_DAYS = 7  # a member fills in a missed day of the last seven; older ones, a lead with a reason
REASON_LIMIT = 200
RECORDED = ("W", "O", "S")  # days whose records count (S, a cancelled sailing: never asked for, see kind_of_day)


def today_of(user: User) -> Attendance | None:
    return day_of(user, clock.today())


def day_of(user: User, day: date) -> Attendance | None:
    return db.session.scalars(sa.select(Attendance).where(Attendance.user_id == user.id, Attendance.day == day)).first()


def kind_of_day(user: User, day: date) -> str:
    """``W`` (on the island), ``O`` (off-island day) or ``R`` (rest day or holiday) for ``user`` on ``day``; ``S``
    for an off-island day whose sailing was cancelled (停航): the staff stayed on the island, so "on the island" is
    true and may be recorded, but the day is no working day of the island and is not asked for (docs/METRICS.md)."""
    calendar = timekeeping.calendar_for(user.service_point)
    return "S" if calendar.sailing_cancelled(day) else calendar.kind_of(day)


def kinds_today(user: User) -> list[AttendanceKind]:
    """What ``user`` may record for today: everything on a working day, no day on the island on an off-island
    day, no day off it when the sailing was cancelled, nothing on a rest day or a holiday."""
    letter = kind_of_day(user, clock.today())
    return [k for k in AttendanceKind if (letter == "W") or (letter == "S" and k is not AttendanceKind.OFF_ISLAND)
            or (letter == "O" and k is not AttendanceKind.ON_ISLAND)]


def _check_day(user: User, day: date, kind: AttendanceKind) -> None:
    """What may be recorded on ``day``: a rest day nothing, an off-island day no day on the island, a day whose
    sailing was cancelled no day off the island."""
    if not isinstance(kind, AttendanceKind):
        raise DomainError(_l("Say where you were that day."), field="kind")
    if day is None:
        raise DomainError(_l("Give the day."), field="day")
    if day > clock.today():
        raise DomainError(_l("A day is recorded on the day or after it, not before."), field="day")
    letter = kind_of_day(user, day)
    if letter == "R":
        raise DomainError(_l("%(day)s is a rest day or a holiday on the island: nothing is recorded for it.",
                             day=day.isoformat()), field="day")
    if letter == "S" and kind is AttendanceKind.OFF_ISLAND:
        raise DomainError(_l("No boat sailed on %(day)s (停航): nobody went off the island. Record it as on the "
                             "island, or as leave.", day=day.isoformat()), field="kind")
    if letter == "O" and kind is AttendanceKind.ON_ISLAND:
        raise DomainError(_l("%(day)s is an off-island day of the 3+2 week: days on the island are the island's "
                             "working days only. Record it as off the island, or as leave.", day=day.isoformat()),
                          field="kind")


def _insert(user: User, day: date, kind: AttendanceKind, **extra) -> bool:
    """Insert the day's record unless there is one (two presses at once make one); whether it was inserted."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(Attendance).values(user_id=user.id, day=day, kind=kind, recorded_at=clock.now(), **extra)
    # RETURNING says whether a row went in (a rowcount is not told the same way by every driver).
    inserted = db.session.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "day"])
                                  .returning(Attendance.id)).scalar()
    return inserted is not None


def record(user: User, kind: AttendanceKind, day: date | None = None) -> Attendance:
    """Record where ``user`` was on ``day`` (today by default, or a missed day of the last week), once: a
    second record of the same day is refused (a lead corrects it), unless it says the same (a double press)."""
    access.require(user, "attendance.record", message=_l("Only the island's staff record their days."))
    day = day or clock.today()
    _check_day(user, day, kind)
    if day < clock.today() - timedelta(days=FILL_IN_DAYS):
        raise DomainError(_l("Days more than a week ago are filled in by your lead, with a reason."), field="day")
    if not _insert(user, day, kind):
        kept = day_of(user, day)
        if kept is not None and kept.kind is kind:
            return kept
        raise Conflict(_l("%(day)s is recorded already (%(kind)s); a day is recorded once. Ask your lead to "
                          "correct it.", day=day.isoformat(), kind=kept.kind.label if kept else ""))
    counters.mark([f"point:{user.service_point_id}"], clock.now())  # the point's board shows it: its ETag moves
    audit.record("attendance", actor=user, object_type="users", object_id=str(user.id),
                 changes={"kind": (None, kind.value)}, reason=day.isoformat())
    unit.end_step()
    db.session.expire_all()
    return day_of(user, day)


def correct(lead: User, member: User, day: date, kind: AttendanceKind, reason: str) -> Attendance:
    """A lead corrects ``member``'s ``day`` (or fills it in), saying why; the audit log keeps the old and new."""
    access.require(lead, "attendance.correct", member, _l("Only a lead of the island corrects another's days."))
    _check_day(member, day, kind)
    reason = typed(reason, "reason", REASON_LIMIT, required=_l("Say why the day is corrected."))
    old = day_of(member, day)
    before = old.kind.value if old else None
    if old is None:
        if not _insert(member, day, kind, corrected_by_id=lead.id, reason=reason):
            raise Conflict(_l("The day was recorded meanwhile; look at it again."))
    else:
        old.kind, old.corrected_by_id, old.reason, old.recorded_at = kind, lead.id, reason, clock.now()
    counters.mark([f"point:{member.service_point_id}"], clock.now())
    audit.record("attendance_corrected", actor=lead, object_type="users", object_id=str(member.id),
                 changes={"kind": (before, kind.value)}, reason=f"{day.isoformat()}: {reason}")
    unit.end_step()
    db.session.expire_all()
    return day_of(member, day)


# --- counting ------------------------------------------------------------------------------------------------

def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _records(user_ids: list[int], first: date, last: date) -> dict[int, dict[date, AttendanceKind]]:
    records: dict[int, dict[date, AttendanceKind]] = {uid: {} for uid in user_ids}
    if user_ids:
        for row in db.session.execute(sa.select(Attendance.user_id, Attendance.day, Attendance.kind).where(
                Attendance.user_id.in_(user_ids), Attendance.day >= first, Attendance.day <= last)):
            records[row.user_id][row.day] = row.kind
    return records


def _letters(points: set[ServicePoint | None], first: date, last: date) -> dict[int | None, dict[date, str]]:
    """Each point's W/O/R (S: a cancelled sailing) of every day from ``first`` to ``last``, one calendar read per
    point."""
    letters = {}
    for point in points:
        calendar = timekeeping.calendar_for(point)
        letters[point.id if point else None] = {
            day: "S" if calendar.sailing_cancelled(day) else calendar.kind_of(day) for day in _days(first, last)}
    return letters


@dataclass
class Line:
    """One member of staff over a period: days on the island against the point's working days."""

    user: User
    on_island: int
    off_island: int
    leave: int
    working_days: int
    unrecorded: int  # working days with no record at all


def _line(user: User, days: dict[date, AttendanceKind], letters: dict[date, str], period: list[date]) -> Line:
    """Only what counts: on the island on working days (W), off the island and leave on working and off-island
    days; nothing on a rest day or a holiday."""
    working = [d for d in period if letters[d] == "W"]
    counted = {d: k for d, k in days.items() if letters.get(d) in RECORDED}
    return Line(user, sum(counted.get(d) is AttendanceKind.ON_ISLAND for d in working),
                sum(k is AttendanceKind.OFF_ISLAND for k in counted.values()),
                sum(k is AttendanceKind.LEAVE for k in counted.values()), len(working),
                sum(d not in days for d in working))


def staff(point: ServicePoint | None = None) -> list[User]:
    """Everyone who records their days (of ``point``, when given), by office and name."""
    query = sa.select(User).where(User.active).options(joinedload(User.office), joinedload(User.service_point))
    if point is not None:
        query = query.where(User.service_point_id == point.id)
    people = [u for u in db.session.scalars(query) if access.can(u, "attendance.record")]
    return sorted(people, key=lambda u: (u.office.code if u.office else "~", u.display_name))


def of_point(point: ServicePoint, first: date, last: date) -> list[Line]:
    """The staff of ``point`` who record their days, over ``first``–``last`` (up to today), by name."""
    last = min(last, clock.today())
    people = sorted(staff(point), key=lambda u: u.display_name)
    if not people or last < first:
        return []
    records = _records([u.id for u in people], first, last)
    letters = _letters({point}, first, last)[point.id]
    period = _days(first, last)
    return [_line(user, records[user.id], letters, period) for user in people]


# --- the weeks and the month -----------------------------------------------------------------------------------

@dataclass
class PersonWeek:
    user: User
    days: dict[date, AttendanceKind | None]  # Monday to Sunday, what was recorded
    letters: dict[date, str]  # Monday to Sunday, W/O/R
    on_island: int
    leave: int
    working_days: int
    required: int

    @property
    def short(self) -> bool:
        return self.on_island < self.required


@dataclass
class OfficeWeek:
    office: Office | None
    people: list[PersonWeek]
    stationed: int  # working days with at least one of the office's people on the island
    required: int

    @property
    def short(self) -> bool:
        return self.stationed < self.required

    @property
    def fell_short(self) -> list[PersonWeek]:
        return [p for p in self.people if p.short]


@dataclass
class Week:
    monday: date
    offices: list[OfficeWeek]
    ended: bool  # judged only once it has ended; a running week shows its days so far

    @property
    def days(self) -> list[date]:
        return _days(self.monday, self.monday + timedelta(days=6))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week(monday: date, people: list[User] | None = None) -> Week:
    """The week starting ``monday`` of every office: each person's days, who fell short, each office's days
    stationed on the island."""
    monday = monday_of(monday)
    sunday = monday + timedelta(days=6)
    people = staff() if people is None else people
    records = _records([u.id for u in people], monday, sunday)
    letters = _letters({u.service_point for u in people}, monday, sunday)
    days = _days(monday, sunday)
    groups: dict[int | None, list[PersonWeek]] = {}
    offices: dict[int | None, Office | None] = {}
    for user in people:
        mine = letters[user.service_point_id]
        kept = {d: k for d, k in records[user.id].items() if mine[d] in RECORDED}
        working = [d for d in days if mine[d] == "W"]
        on_island = sum(kept.get(d) is AttendanceKind.ON_ISLAND for d in working)
        leave = sum(kept.get(d) is AttendanceKind.LEAVE for d in working)
        required = max(0, min(WEEKLY_MINIMUM, len(working) - leave))
        groups.setdefault(user.office_id, []).append(
            PersonWeek(user, {d: records[user.id].get(d) for d in days}, mine, on_island, leave, len(working), required))
        offices[user.office_id] = user.office
    result = []
    for office_id, members in groups.items():
        working = {d for p in members for d in days if p.letters[d] == "W"}
        stationed = sum(any(p.letters[d] == "W" and p.days[d] is AttendanceKind.ON_ISLAND for p in members)
                        for d in working)
        result.append(OfficeWeek(offices[office_id], members, stationed, min(WEEKLY_MINIMUM, len(working))))
    result.sort(key=lambda o: o.office.code if o.office else "~")
    return Week(monday, result, ended=sunday < clock.today())


@dataclass
class PersonMonth:
    user: User
    on_island: int = 0
    required: int = 0
    working_days: int = 0
    off_island: int = 0
    leave: int = 0
    unrecorded: int = 0
    weeks: int = 0
    weeks_met: int = 0
    short_weeks: list[date] = field(default_factory=list)


@dataclass
class OfficeMonth:
    office: Office | None
    people: list[PersonMonth]
    weeks: int = 0
    weeks_met: int = 0
    stationed: int = 0
    required: int = 0


@dataclass
class Assessment:
    month: date  # its first day
    mondays: list[date]  # the weeks assessed: those whose Monday falls in the month and which have ended
    offices: list[OfficeMonth]

    @property
    def first(self) -> date | None:
        return self.mondays[0] if self.mondays else None

    @property
    def last(self) -> date | None:
        return self.mondays[-1] + timedelta(days=6) if self.mondays else None


def assessment(month: date) -> Assessment:
    """The monthly assessment (考核) per office and person: the ended weeks whose Monday is in ``month``."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    monday = first + timedelta(days=(7 - first.weekday()) % 7)
    mondays = []
    while monday < following and monday + timedelta(days=6) < clock.today():
        mondays.append(monday)
        monday += timedelta(days=7)
    people = staff()
    by_user = {u.id: PersonMonth(u) for u in people}
    offices: dict[int | None, OfficeMonth] = {}
    for user in people:
        offices.setdefault(user.office_id, OfficeMonth(user.office, [])).people.append(by_user[user.id])
    for monday in mondays:
        for office_week in week(monday, people).offices:
            office = offices[office_week.office.id if office_week.office else None]
            office.weeks += 1
            office.weeks_met += not office_week.short
            office.stationed += office_week.stationed
            office.required += office_week.required
            for person in office_week.people:
                line = by_user[person.user.id]
                counted = {d: k for d, k in person.days.items() if k is not None and person.letters[d] in RECORDED}
                line.on_island += person.on_island
                line.required += person.required
                line.working_days += person.working_days
                line.leave += sum(k is AttendanceKind.LEAVE for k in counted.values())
                line.off_island += sum(k is AttendanceKind.OFF_ISLAND for k in counted.values())
                line.unrecorded += sum(person.letters[d] == "W" and person.days[d] is None for d in person.days)
                line.weeks += 1
                if person.short:
                    line.short_weeks.append(monday)
                else:
                    line.weeks_met += 1
    ordered = sorted(offices.values(), key=lambda o: o.office.code if o.office else "~")
    return Assessment(first, mondays, ordered)
