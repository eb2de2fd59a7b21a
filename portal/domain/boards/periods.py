"""The period a board or a report shows, the period it is compared with, and the change between them."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import DomainError
from portal.domain.boards.metrics import Figures, Rate, TripCost, from_sums

LONGEST_PERIOD_DAYS = 366

# --- periods -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    kind: str      # today, week, month, custom
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period to compare with: yesterday, the same days of last week or of last month, or as
        many days just before a custom period."""
        if self.kind == "today":
            return Period(self.kind, self.first - timedelta(days=1), self.last - timedelta(days=1))
        if self.kind == "week":
            return Period(self.kind, self.first - timedelta(days=7), self.last - timedelta(days=7))
        if self.kind == "month":  # a whole month against the whole month before; part of one, the same days
            first = (self.first - timedelta(days=1)).replace(day=1)
            length = calendar.monthrange(first.year, first.month)[1]
            whole = self.last.day == calendar.monthrange(self.last.year, self.last.month)[1]
            return Period(self.kind, first, first.replace(day=length if whole else min(self.last.day, length)))
        return Period(self.kind, self.first - timedelta(days=self.days), self.first - timedelta(days=1))


    @property
    def whole_month(self) -> bool:
        return self.first.day == 1 and self.last.day == calendar.monthrange(self.last.year, self.last.month)[1] \
            and self.first.month == self.last.month

    @property
    def comparison(self) -> str:
        """What ``previous`` is, in words (boards and the report say it beside the change)."""
        if self.kind == "today":
            return str(_l("yesterday"))
        if self.kind == "week":
            return str(_l("the same days of last week"))
        if self.kind == "month":
            return str(_l("the whole previous month") if self.whole_month else _l("the same days of last month"))
        return str(_l("as many days just before"))


def period_for(kind: str | None, first: date | None = None, last: date | None = None,
               today: date | None = None) -> Period:
    """The period a board shows; a custom one is checked (DomainError names the wrong field)."""
    today = today or clock.today()
    if kind == "today":
        return Period("today", today, today)
    if kind == "week":
        return Period("week", today - timedelta(days=today.weekday()), today)
    if kind != "custom":
        return Period("month", today.replace(day=1), today)
    if first is None:
        raise DomainError(_l("Enter the first day of the period."), field="first")
    if last is None:
        raise DomainError(_l("Enter the last day of the period."), field="last")
    if last < first:
        raise DomainError(_l("The last day cannot come before the first day."), field="last")
    if last > today:
        raise DomainError(_l("The period cannot end after today."), field="last")
    if (last - first).days + 1 > LONGEST_PERIOD_DAYS:
        raise DomainError(_l("A period can be at most %(days)s days long.", days=LONGEST_PERIOD_DAYS), field="first")
    return Period("custom", first, last)


def month_period(month: date) -> Period:
    """The whole calendar month holding ``month`` (up to today for the current month)."""
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return Period("month", first, min(last, max(clock.today(), first)))


def change(current: Rate | int | float | None, previous: Rate | int | float | None) -> float | None:
    """The change from the previous period: in percentage points for rates, in units for counts. None ("no
    comparison") when there is nothing to compare with: a rate with nothing counted in either period, or a count
    that was zero (or unknown) in the previous period: a change against nothing would read "▲ +490"."""
    if isinstance(current, Rate):
        if current.value is None or previous is None or previous.value is None:
            return None
        return round((current.value - previous.value) * 100, 1)
    if current is None or previous is None or previous == 0:
        return None
    return current - previous




class Compared:
    """A period's figures beside those of the period it is compared with, from their counter sums: what the monthly
    report's rows and the results report share. The class using it has ``sums``, ``previous_sums`` (the counters'
    sums, ``metrics.sums``) and ``trip`` (what a journey costs). Journeys, hours and money saved are the board's own
    computation (docs/METRICS.md, "journeys saved")."""

    sums: dict[str, int]
    previous_sums: dict[str, int]
    trip: TripCost

    @property
    def figures(self) -> Figures:
        return from_sums(self.sums)

    @property
    def previous(self) -> Figures:
        return from_sums(self.previous_sums)

    @property
    def trips(self) -> int:
        return self.sums["trips_saved"]

    @property
    def previous_trips(self) -> int:
        return self.previous_sums["trips_saved"]

    @property
    def hours_saved(self) -> float:
        return self.trip.time(self.trips)

    @property
    def previous_hours_saved(self) -> float:
        return self.trip.time(self.previous_trips)

    @property
    def cost_saved(self) -> float:
        return self.trip.cost(self.trips)

    @property
    def previous_cost_saved(self) -> float:
        return self.trip.cost(self.previous_trips)

    def saved_change(self, name: str, digits: int | None) -> float | None:
        """The change of ``trips``, ``hours_saved`` or ``cost_saved`` (None: 无对比)."""
        difference = change(getattr(self, name), getattr(self, f"previous_{name}"))
        return None if difference is None else round(difference, digits)
