"""The results report (成效报告): a period's results of a board's scope as an island office reports them upward, each
figure beside the same period a year before (同比), defined in docs/METRICS.md ("The results report").

Its counts, rates, trips, hours and money are the board's own: the daily counters summed over the period
(``metrics.sums``), the trips' cost from ``metrics.TripCost``. What the counters do not hold is read from the
timeline with the counters' own rules (``resolutions``): each resolution event of the period, where its event says
the case was, as ``counters.rebuild`` counts it; so the requests' rows by mode add up to the board's 办结量 (proactive
work beside them, as the board keeps it apart), and the efficiency gain is measured on exactly those resolutions, against the baseline "before the network" the catalog keeps per item
(``ServiceItem.baseline_working_days``).
"""
from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain.boards import counters, metrics
from portal.domain.boards.metrics import Rate
from portal.domain.boards.periods import Compared, Period, change
from portal.domain.boards.scopes import Scope
from portal.extensions import db
from portal.models import (
    Case,
    CaseCount,
    CaseEvent,
    EventKind,
    Mode,
    PointKind,
    ServiceItem,
    ServicePoint,
)

# How an item was handled, in the order the report lists them; each resolution is in exactly one. Proactive work
# (主动服务: care visits, campaign findings, ``Case.proactive``) is not a resident's request: it is listed apart, and
# is not one of the items handled (the board's 办结量).
MODES = {
    "on_spot": _l("At the counter, finished on the spot"),
    "counter": _l("At the counter, finished later"),
    "errand": _l("Proxy errand"),
    "home": _l("Home visit on request"),
    "heating": _l("Heating (district butlers and stations)"),
    "proactive": _l("Proactive work (care visits, campaign findings)"),
}


def year_before(period: Period) -> Period:
    """The same days a year before (29 February falls back to the 28th)."""
    def back(day: date) -> date:
        return day.replace(year=day.year - 1, day=min(day.day, calendar.monthrange(day.year - 1, day.month)[1]))
    return Period("custom", back(period.first), back(period.last))


def year_to_date(today: date | None = None) -> Period:
    """The report's default period: 1 January to today."""
    today = today or clock.today()
    return Period("custom", today.replace(month=1, day=1), today)


# --- the resolutions of a period, as the counters count them ---------------------------------------------------

@dataclass(frozen=True)
class Resolution:
    """One resolution event of the period, counted where its event says the case was."""

    event_id: int
    case_id: int
    at: datetime
    actor_id: int | None
    kind: EventKind
    logged_at: datetime
    mode: Mode
    on_spot: bool
    on_time: bool
    item_id: int
    item_code: str
    baseline: float | None
    point_id: int
    team_id: int
    point_kind: PointKind
    proactive: bool

    @property
    def handled_as(self) -> str:
        """Its key in ``MODES``."""
        if self.proactive:
            return "proactive"
        if self.point_kind is PointKind.HEATING_STATION:
            return "heating"
        if self.kind is EventKind.FINISHED_ON_SPOT and self.on_spot:
            return "on_spot"
        return {Mode.COUNTER: "counter", Mode.ERRAND: "errand", Mode.HOME: "home"}[self.mode]


def _bounds(period: Period) -> tuple[datetime, datetime]:
    return clock.local_midnight(period.first), clock.local_midnight(period.last + timedelta(days=1))


def resolutions(scope: Scope, period: Period) -> list[Resolution]:
    """The resolution events of ``period`` in ``scope``: those ``counters`` counts as 办结量 (a case redone and
    resolved again is two), each where its event kept the case (a transfer later does not move it)."""
    start, end = _bounds(period)
    kept = CaseEvent.data["scope"]
    recorded = CaseEvent.data["on_time"].as_boolean()
    rows = (
        sa.select(
            CaseEvent.id.label("event_id"), CaseEvent.case_id, CaseEvent.at, CaseEvent.actor_id,
            CaseEvent.kind, Case.created_at.label("logged_at"), Case.mode, Case.on_spot,
            # on time as the resolution event recorded it (the counters' rule), by the due time for older events
            sa.case((recorded.is_not(None), recorded),
                    else_=sa.or_(Case.due_at.is_(None), CaseEvent.at <= Case.due_at)).label("on_time"),
            Case.item_id, ServiceItem.code.label("item_code"), ServiceItem.baseline_working_days.label("baseline"),
            sa.func.coalesce(kept[0].as_integer(), Case.place_id, 0).label("place_id"),
            sa.func.coalesce(kept[1].as_integer(), Case.service_point_id).label("service_point_id"),
            sa.func.coalesce(kept[2].as_integer(), Case.team_id, 0).label("team_id"),
            Case.proactive,
        )
        .join(Case, Case.id == CaseEvent.case_id).join(ServiceItem, ServiceItem.id == Case.item_id)
        .where(CaseEvent.kind.in_(counters.RESOLUTIONS), CaseEvent.at >= start, CaseEvent.at < end)
    ).subquery()
    query = (sa.select(rows, ServicePoint.kind.label("point_kind"))
             .join(ServicePoint, ServicePoint.id == rows.c.service_point_id)
             .where(scope.kind.on(scope, rows.c)).order_by(rows.c.at, rows.c.event_id))
    return [Resolution(row.event_id, row.case_id, row.at, row.actor_id, row.kind, row.logged_at, row.mode,
                       bool(row.on_spot), bool(row.on_time), row.item_id, row.item_code, row.baseline,
                       row.service_point_id, row.team_id, row.point_kind, bool(row.proactive))
            for row in db.session.execute(query)]


# --- the efficiency gain --------------------------------------------------------------------------------------

@dataclass
class Efficiency:
    """Working days from logging to resolution, against the baseline before the network, over the period's
    resolutions of residents' requests for items with a baseline: time cut = 1 − Σ actual ÷ Σ baseline (docs/METRICS.md)."""

    counted: int = 0            # resolutions of items with a baseline
    left_out: int = 0           # resolutions of items without one
    items_left_out: int = 0     # how many items those are
    actual_days: float = 0.0    # summed over the counted resolutions
    baseline_days: float = 0.0

    @property
    def average_days(self) -> float | None:
        return self.actual_days / self.counted if self.counted else None

    @property
    def average_baseline(self) -> float | None:
        return self.baseline_days / self.counted if self.counted else None

    @property
    def gain(self) -> float | None:
        """The share of the time before the network that is no longer taken (0.6: 60 % less time); None when
        nothing was counted."""
        return 1 - self.actual_days / self.baseline_days if self.counted and self.baseline_days else None


# A service point's working calendar: ``portal.domain.cases.timekeeping.calendar_for``, given by the caller (the
# boards' room sits above the cases' and does not import it), with ``working_minutes_between`` and ``day_minutes``.
CalendarFor = Callable[[ServicePoint | None], object]


class _Calendars:
    """Each service point's working calendar, read once for the report (with the holidays of the period)."""

    def __init__(self, calendar_for: CalendarFor) -> None:
        self.calendar_for, self.kept = calendar_for, {}
        self.points = {p.id: p for p in db.session.scalars(sa.select(ServicePoint))}

    def of(self, point_id: int):
        if point_id not in self.kept:
            self.kept[point_id] = self.calendar_for(self.points.get(point_id))
        return self.kept[point_id]


def working_days(resolution: Resolution, calendars: _Calendars) -> float:
    """Working days from logging to this resolution on the calendar of the point where it was resolved (off-island
    days count for errands, which travel on them, as for their time limits)."""
    work = calendars.of(resolution.point_id)
    minutes = work.working_minutes_between(resolution.logged_at, resolution.at, resolution.mode)
    return minutes / work.day_minutes if work.day_minutes else 0.0


def efficiency(rows: list[Resolution], calendars: _Calendars) -> Efficiency:
    result, without = Efficiency(), set()
    for row in rows:
        if row.baseline is None:
            result.left_out += 1
            without.add(row.item_id)
            continue
        result.counted += 1
        result.actual_days += working_days(row, calendars)
        result.baseline_days += row.baseline
    result.items_left_out = len(without)
    return result


# --- the report -------------------------------------------------------------------------------------------------

@dataclass
class Line:
    """A row of a table of the report: a number now and the same period a year before."""

    label: str
    now: int
    before: int

    @property
    def change(self) -> float | None:
        return change(self.now, self.before)


@dataclass
class Results(Compared):
    scope: Scope
    period: Period
    before: Period
    sums: dict[str, int]
    previous_sums: dict[str, int]
    trip: metrics.TripCost
    categories: list[Line]     # requests resolved, by category
    modes: list[Line]          # requests resolved, by how they were handled: they add up to the board's 办结量
    proactive: Line            # proactive work done (the board's proactive_resolved), apart
    island: Rate               # resolved on the island ÷ resolved for the island (on the island + the off-island hall)
    previous_island: Rate
    efficiency: Efficiency
    previous_efficiency: Efficiency
    baselines_missing: list[str] = field(default_factory=list)  # codes of the period's items without a baseline

    def change(self, name: str) -> float | None:
        """The change against the year before of a figure of the report (None: 无对比)."""
        if name in ("trips", "hours_saved", "cost_saved"):
            return self.saved_change(name, 1)
        if name == "island":
            return change(self.island, self.previous_island)
        if name in ("gain", "average_days"):
            now, before = getattr(self.efficiency, name), getattr(self.previous_efficiency, name)
            if now is None or before is None:
                return None
            return round((now - before) * 100, 1) if name == "gain" else round(now - before, 1)
        return change(getattr(self.figures, name), getattr(self.previous, name))


def _by_category(scope: Scope, period: Period) -> dict[str, int]:
    """Residents' requests resolved in the period by category, from the counters."""
    rows = db.session.execute(
        sa.select(CaseCount.category, sa.func.coalesce(sa.func.sum(CaseCount.resolved), 0))
        .where(scope.counts, metrics.REQUESTS, CaseCount.day >= period.first, CaseCount.day <= period.last)
        .group_by(CaseCount.category)).all()
    return {category: int(resolved) for category, resolved in rows}


def _island(scope: Scope, period: Period) -> Rate:
    """Requests resolved at the island's own points ÷ those resolved at the island's points and the off-island
    hall."""
    on_island = sa.and_(ServicePoint.on_island, ServicePoint.kind != PointKind.HEATING_STATION)
    row = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.case((on_island, CaseCount.resolved), else_=0)), 0),
                  sa.func.coalesce(sa.func.sum(CaseCount.resolved), 0))
        .join(ServicePoint, ServicePoint.id == CaseCount.service_point_id)
        .where(scope.counts, metrics.REQUESTS, CaseCount.day >= period.first, CaseCount.day <= period.last,
               sa.or_(on_island, ServicePoint.kind == PointKind.OFFSHORE_HALL))).one()
    return Rate(int(row[0]), int(row[1]))


def _category_names() -> dict[str, str]:
    return dict(db.session.execute(sa.select(ServiceItem.category_zh, ServiceItem.category_en).distinct()).all())


def results(scope: Scope, period: Period, calendar_for: CalendarFor, english: bool = False) -> Results:
    """The results report of ``scope`` for ``period``, beside the same days a year before; working days are counted
    on the calendars ``calendar_for`` gives (``timekeeping.calendar_for``)."""
    before = year_before(period)
    trip = metrics.TripCost.configured()
    sums = metrics.sums(scope.counts, period.first, period.last)
    previous_sums = metrics.sums(scope.counts, before.first, before.last)

    names = _category_names()
    now_categories, before_categories = _by_category(scope, period), _by_category(scope, before)
    categories = [Line((names.get(name) or name) if english else name, now_categories.get(name, 0),
                       before_categories.get(name, 0))
                  for name in set(now_categories) | set(before_categories)
                  if now_categories.get(name, 0) or before_categories.get(name, 0)]
    categories.sort(key=lambda line: (-line.now, -line.before, line.label))

    rows, previous_rows = resolutions(scope, period), resolutions(scope, before)
    modes_now: dict[str, int] = defaultdict(int)
    modes_before: dict[str, int] = defaultdict(int)
    for row in rows:
        modes_now[row.handled_as] += 1
    for row in previous_rows:
        modes_before[row.handled_as] += 1
    modes = [Line(str(label), modes_now[key], modes_before[key]) for key, label in MODES.items()
             if key != "proactive" and (modes_now[key] or modes_before[key])]
    proactive = Line(str(MODES["proactive"]), modes_now["proactive"], modes_before["proactive"])

    calendars = _Calendars(calendar_for)
    requests, previous_requests = [r for r in rows if not r.proactive], [r for r in previous_rows if not r.proactive]
    missing = sorted({row.item_code for row in requests if row.baseline is None})
    return Results(scope=scope, period=period, before=before, sums=sums, previous_sums=previous_sums, trip=trip,
                   categories=categories, modes=modes, proactive=proactive, island=_island(scope, period),
                   previous_island=_island(scope, before), efficiency=efficiency(requests, calendars),
                   previous_efficiency=efficiency(previous_requests, calendars), baselines_missing=missing)
