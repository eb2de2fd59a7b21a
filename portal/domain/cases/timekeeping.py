"""The clock behind every case: working calendars, due times and the time left.

Each service point has working hours (``08:30-12:00,13:30-17:30``) and a week of seven letters,
Monday first: ``W`` a working day on site, ``O`` an off-island day of the "3+2" week, ``R`` a rest
day. Public holidays and make-up working days (调休) come from ``CalendarDay`` rows, for the whole
district or for one point. An off-island day on which the boat did not sail (停航, ``CancelledSailing``) is
no off-island day: no errand travels and no errand's time runs on it (``WorkCalendar.sailing_cancelled``).

An item's limit of H hours is counted as H÷24 working days and H mod 24 working hours on the
calendar of the case's point (so 720 h is 30 working days, 4 h is half a morning). Off-island days
count only for errands, which travel on them; counter work and home visits stop while the island's
staff are away. Urgent items (leaks) are counted in calendar hours, day and night.

Which moment a limit runs from (``limit_start``; docs/METRICS.md, "Which limits run from what"): an urgent
item's from logging, so signing for it does not restart it; any other item's from its first signature (签收).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import DomainError
from portal.domain.platform import snapshot
from portal.models import DayKind, Mode, ServiceItem, ServicePoint

DEFAULT_HOURS = "08:30-12:00,13:30-17:30"
ISLAND_WEEK = "WWWOORR"
OFFICE_WEEK = "WWWWWRR"
EVERY_DAY = "WWWWWWW"
HORIZON_DAYS = 800  # no limit in the catalog reaches further than this
SIGN_FOR_HOURS = 2  # working hours to sign for (签收) a case
URGENT_SIGN_FOR = timedelta(minutes=30)

_PERIOD = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$")
END_OF_DAY = time(23, 59, 59, 999999)  # "24:00": the period runs to midnight


def parse_hours(text: str) -> list[tuple[time, time]]:
    """Parse ``08:30-12:00,13:30-17:30``; raise ValueError when malformed or overlapping."""
    periods = []
    for part in (text or "").replace("，", ",").split(","):
        match = _PERIOD.match(part.strip())
        if not match:
            raise ValueError(part)
        start = time(int(match[1]), int(match[2]))
        end = END_OF_DAY if match[5] else time(int(match[3]), int(match[4]))
        if end <= start or (periods and start < periods[-1][1]):
            raise ValueError(part)
        periods.append((start, end))
    if not periods:
        raise ValueError(text)
    return periods


def valid_week(text: str) -> bool:
    return bool(re.fullmatch(r"[WOR]{7}", text or "")) and "W" in text


@dataclass
class WorkCalendar:
    """One service point's working time, with the holidays and make-up days that apply to it."""

    periods: list[tuple[time, time]]
    week: str
    overrides: dict[date, DayKind] = field(default_factory=dict)
    no_sailing: frozenset[date] = frozenset()  # off-island days whose sailing was cancelled (停航)

    def kind_of(self, day: date) -> str:
        """``W``, ``O`` or ``R`` for a local date, after holidays and make-up days."""
        override = self.overrides.get(day)
        if override is DayKind.HOLIDAY:
            return "R"
        if override is DayKind.WORKDAY:
            return "W"
        return self.week[day.weekday()]

    def counts(self, day: date, mode: Mode | None) -> bool:
        kind = self.kind_of(day)
        return kind == "W" or (kind == "O" and mode is Mode.ERRAND and day not in self.no_sailing)

    def is_off_island(self, day: date) -> bool:
        """An off-island day of the "3+2" week on which the boat sails."""
        return self.kind_of(day) == "O" and day not in self.no_sailing

    def sailing_cancelled(self, day: date) -> bool:
        """An off-island day of the week whose sailing was cancelled (停航): the staff stay on the island."""
        return self.kind_of(day) == "O" and day in self.no_sailing

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in working hours of a working day (a desk is staffed)."""
        local = clock.local(moment)
        if self.kind_of(local.date()) != "W":
            return False
        return any(start <= local.time() < end for start, end in self.periods)

    @property
    def day_minutes(self) -> int:
        return sum((_minutes(end) - _minutes(start)) for start, end in self.periods)

    def _windows(self, day: date):
        for start, end in self.periods:
            finish = (datetime.combine(day + timedelta(days=1), time(0), clock.LOCAL_TZ) if end == END_OF_DAY
                      else datetime.combine(day, end, clock.LOCAL_TZ))
            yield (datetime.combine(day, start, clock.LOCAL_TZ), finish)

    def add_working(self, start: datetime, minutes: float, mode: Mode | None) -> datetime:
        """The moment ``minutes`` of working time after ``start``."""
        cursor = clock.local(start)
        left = timedelta(minutes=minutes)
        day = cursor.date()
        for _ in range(HORIZON_DAYS):
            if self.counts(day, mode):
                for window_start, window_end in self._windows(day):
                    if window_end <= cursor:
                        continue
                    begin = max(cursor, window_start)
                    available = window_end - begin
                    if left <= available:
                        return (begin + left).astimezone(start.tzinfo)
                    left -= available
                    cursor = window_end
            day += timedelta(days=1)
            cursor = max(cursor, datetime.combine(day, time(0), clock.LOCAL_TZ))
        raise DomainError(_l("This time limit reaches beyond the working calendar; shorten it."))

    def working_minutes_between(self, start: datetime, end: datetime, mode: Mode | None) -> float:
        """Working minutes from ``start`` to ``end`` (0 when ``end`` is earlier)."""
        if end <= start:
            return 0.0
        total = timedelta()
        day, last = clock.local(start).date(), clock.local(end).date()
        while day <= last:
            if self.counts(day, mode):
                for window_start, window_end in self._windows(day):
                    begin, finish = max(window_start, start), min(window_end, end)
                    if finish > begin:
                        total += finish - begin
            day += timedelta(days=1)
        return total.total_seconds() / 60

    def next_working_start(self, after: datetime, mode: Mode | None = None) -> datetime:
        """The start of the first working period that begins after the end of ``after``'s day."""
        day = clock.local(after).date() + timedelta(days=1)
        for _ in range(HORIZON_DAYS):
            if self.counts(day, mode):
                return next(self._windows(day))[0].astimezone(after.tzinfo)
            day += timedelta(days=1)
        raise DomainError(_l("The service point has no working day in its calendar."))


def _minutes(moment: time) -> int:
    return 24 * 60 if moment == END_OF_DAY else moment.hour * 60 + moment.minute


def calendar_for(point: ServicePoint | None, desk: bool = False) -> WorkCalendar:
    """The calendar of ``point`` (the district default when None): its hours and week with the holidays and
    make-up days that apply to it, and, for a week with off-island days, the cancelled sailings; kept per worker
    (``snapshot.calendars``). A point that works through public holidays (a heating station's repairs) ignores
    the district's holidays, except for its ``desk``: the day shift that answers the phone keeps the public
    holidays, when the person on duty answers instead."""
    kept = snapshot.calendars()
    if point is None:
        return WorkCalendar(parse_hours(DEFAULT_HOURS), OFFICE_WEEK, kept.days_of(None, True))
    days = kept.days_of(point.id, point.observes_holidays or desk)
    return WorkCalendar(parse_hours(point.hours), point.week, days, kept.no_sailing if "O" in point.week else frozenset())


def limit_minutes(item: ServiceItem, calendar: WorkCalendar) -> float:
    """An item's limit in working minutes: whole days are working days of this calendar."""
    days, hours = divmod(item.sla_hours, 24)
    return days * calendar.day_minutes + hours * 60


def limit_start(item: ServiceItem, logged_at: datetime, signed_at: datetime) -> datetime:
    """The moment a case's due time runs from when it is first signed for (签收): an urgent item's limit
    runs from logging, day and night, and a signature does not restart it (a leak logged at 10:00 and
    signed for at 10:30 is due at 14:00, not 14:30); any other item's runs from that first signature."""
    return logged_at if item.urgent else signed_at


def due_time(item: ServiceItem, start: datetime, point: ServicePoint | None = None, mode: Mode | None = None,
             calendar: WorkCalendar | None = None) -> datetime:
    """When a case of ``item`` started at ``start`` is due."""
    if item.urgent:
        return start + timedelta(hours=item.sla_hours)
    calendar = calendar or calendar_for(point)
    return calendar.add_working(start, limit_minutes(item, calendar), mode or item.mode)


def sign_for_due(item: ServiceItem, start: datetime, point: ServicePoint | None = None,
                 calendar: WorkCalendar | None = None) -> datetime:
    """By when a new case must be signed for (签收): half an hour for urgent items, else two
    working hours."""
    if item.urgent:
        return start + URGENT_SIGN_FOR
    calendar = calendar or calendar_for(point)
    return calendar.add_working(start, SIGN_FOR_HOURS * 60, item.mode)


def scheduled_limits(half_day_ends: datetime) -> tuple[datetime, datetime]:
    """The sign-for due time and the due time of proactive work booked for a half-day (a care visit: the portal
    logs it up to two weeks ahead): the team signs for it when it arrives and does it that half-day, so both are
    the half-day's end; the first signature then fixes the due time as for any case."""
    return half_day_ends, half_day_ends


def callback_due(resolved_at: datetime, point: ServicePoint | None = None,
                 calendar: WorkCalendar | None = None) -> datetime:
    """Callbacks are made the next working day: due by the end of its first working period."""
    calendar = calendar or calendar_for(point)
    start = calendar.next_working_start(resolved_at)
    return calendar.add_working(start, calendar.day_minutes, None)


def reminder_time(item: ServiceItem, start: datetime, due: datetime, point: ServicePoint | None = None,
                  mode: Mode | None = None, calendar: WorkCalendar | None = None) -> datetime:
    """When 75 % of the time from ``start`` to ``due`` has passed (the moment to urge, 催办)."""
    if item.urgent:
        return start + (due - start) * 0.75
    calendar = calendar or calendar_for(point)
    mode = mode or item.mode
    return calendar.add_working(start, 0.75 * calendar.working_minutes_between(start, due, mode), mode)


def default_schedule(point_kind: str, on_island: bool) -> tuple[str, str, bool]:
    """The usual week, hours and holidays of a kind of service point: the island's 3+2 week, an
    office week, or a heating station's every day, holidays included."""
    if point_kind == "heating_station":
        return EVERY_DAY, "08:00-18:00", False
    if on_island and point_kind != "offshore_hall":
        return ISLAND_WEEK, DEFAULT_HOURS, True
    return OFFICE_WEEK, DEFAULT_HOURS, True


def next_off_island_day(point: ServicePoint | None, after: date | None = None,
                        calendar: WorkCalendar | None = None) -> date | None:
    """The first off-island day (O in the point's week, not a holiday) on or after ``after``
    (today by default); None for a point whose week has no off-island days."""
    if point is None or "O" not in point.week:
        return None
    day = after or clock.today()
    calendar = calendar or calendar_for(point)
    for _ in range(HORIZON_DAYS):
        if calendar.is_off_island(day):
            return day
        day += timedelta(days=1)
    return None
