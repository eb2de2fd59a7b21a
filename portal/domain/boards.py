"""Boards: what a team lead sees for a place, a service point, a team or the whole district.

A board is built from a fixed handful of queries whatever the number of cases: the daily counters
(``CaseCount``) summed for the period, the period before, each day of the last twelve weeks and each
place; live counts of open and overdue cases grouped by place; the ten most overdue cases. Its ETag
comes from the newest ``BoardMark`` of its scope, so a poll with nothing new is answered before any of
that runs. The figures are defined in docs/METRICS.md; who may see which board is decided here.
"""
from __future__ import annotations

import calendar
import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import DomainError, Forbidden, NotFound, access, audit, heating, metrics
from portal.domain.metrics import Figures, Rate
from portal.extensions import begin_mode, db
from portal.models import (
    COUNTERS,
    OPEN_STATUSES,
    BoardMark,
    CallbackRecord,
    Case,
    CaseCount,
    CaseEvent,
    EventKind,
    Place,
    PlaceKind,
    Role,
    Satisfaction,
    ServiceItem,
    ServicePoint,
    Team,
    User,
    WallScreen,
)

WEEKS = 12
TOP_OVERDUE = 10
LONGEST_PERIOD_DAYS = 366
# A tile turns red at this many overdue cases or below this satisfaction, amber at one overdue case
# or below the second satisfaction figure (docs/METRICS.md, "Board tiles").
BAD_OVERDUE, BAD_SATISFACTION = 3, 0.80
WARN_OVERDUE, WARN_SATISFACTION = 1, 0.90
TREND_METRICS = ("logged", "resolved", "timely_sign_for", "resolution", "satisfaction", "on_time_resolution")


# --- scopes ------------------------------------------------------------------------------------------

class Places:
    """The place tree, loaded once per board."""

    def __init__(self) -> None:
        self.all = {p.id: p for p in db.session.scalars(sa.select(Place).order_by(Place.code))}
        self.children: dict[int | None, list[Place]] = defaultdict(list)
        for place in self.all.values():
            if place.active:
                self.children[place.parent_id].append(place)

    def subtree(self, place: Place) -> list[int]:
        ids, stack = [], [place.id]
        while stack:
            current = stack.pop()
            ids.append(current)
            stack.extend(child.id for child in self.children.get(current, []))
        return ids

    def leaves(self) -> list[Place]:
        return [p for p in self.all.values() if p.active and p.parent_id is not None and not self.children.get(p.id)]

    def by_code(self, code: str) -> Place | None:
        return next((p for p in self.all.values() if p.code == code), None)


@dataclass
class Scope:
    """The cases a board counts: conditions on the counters and on the cases, the marks that say when
    it last changed, and the places shown as its tiles."""

    kind: str                      # district, place, point, team
    code: str
    counts: sa.ColumnElement[bool]
    cases: sa.ColumnElement[bool]
    marks: list[str]
    tiles: list[Place]
    estates: list[int]
    places: Places
    place: Place | None = None
    point: ServicePoint | None = None
    team: Team | None = None

    @property
    def heating_only(self) -> bool:
        """Only estates: no trips off the island to save."""
        return bool(self.tiles or self.place) and all(
            p.kind in (PlaceKind.ESTATE, PlaceKind.DISTRICT) for p in (self.tiles or [self.place]))

    @property
    def subject(self) -> Place | ServicePoint | Team | None:
        """What the board is about (None for the district), for its title."""
        return self.place or self.point or self.team


def scope_for(kind: str, code: str) -> Scope:
    """The scope of the board ``kind``/``code``; NotFound for anything else."""
    places = Places()
    estates_in = lambda ids: [i for i in ids if places.all[i].kind is PlaceKind.ESTATE]  # noqa: E731
    if kind == "district":
        return Scope("district", "all", sa.true(), sa.true(), ["all"],
                     sorted(places.leaves(), key=lambda p: (p.kind is PlaceKind.ESTATE, p.code)),
                     estates_in(places.all), places)
    if kind == "place":
        place = places.by_code(code)
        if place is None or not place.active:
            raise NotFound(_l("There is no place %(code)s.", code=code))
        ids = places.subtree(place)
        return Scope("place", code, CaseCount.place_id.in_(ids), Case.place_id.in_(ids),
                     [f"place:{i}" for i in ids], places.children.get(place.id, []), estates_in(ids), places,
                     place=place)
    if kind == "point":
        point = db.session.scalars(sa.select(ServicePoint).filter_by(code=code, active=True)).first()
        if point is None:
            raise NotFound(_l("There is no service point %(code)s.", code=code))
        served = [p for p in places.all.values() if p.active and p.service_point_id == point.id]
        served_ids = [i for p in served for i in places.subtree(p)]
        return Scope("point", code, CaseCount.service_point_id == point.id,
                     Case.service_point_id == point.id, [f"point:{point.id}"], served, estates_in(served_ids),
                     places, point=point)
    if kind == "team":
        team = db.session.scalars(sa.select(Team).filter_by(code=code)).first()
        if team is None:
            raise NotFound(_l("There is no team %(code)s.", code=code))
        return Scope("team", code, CaseCount.team_id == team.id, Case.team_id == team.id,
                     [f"team:{team.id}"], [], [], places, team=team)
    raise NotFound(_l("There is no such board."))


def may_see(user: User, scope: Scope) -> bool:
    """Leads and admins see every board; others the boards of their own places, point or team."""
    if user.role in access.SEE_ALL:
        return True
    if scope.kind == "place":
        return scope.place.id in access.place_ids(user)
    if scope.kind == "point":
        return user.role in (Role.STAFF, Role.BUTLER) and user.service_point_id == scope.point.id
    if scope.kind == "team":
        return user.team_id == scope.team.id
    return False


def boards_of(user: User) -> list[tuple[str, Place | ServicePoint | Team]]:
    """The boards a user who does not see everything may open: (kind, subject)."""
    boards: list[tuple[str, Place | ServicePoint | Team]] = []
    if user.role in (Role.STAFF, Role.BUTLER) and user.service_point is not None:
        boards.append(("point", user.service_point))
    if user.team is not None:
        boards.append(("team", user.team))
    boards += [("place", p) for p in sorted(user.places, key=lambda p: p.code)]
    return boards


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
    """The change from the previous period: in percentage points for rates, in units for counts."""
    if isinstance(current, Rate):
        if current.value is None or previous.value is None:
            return None
        return round((current.value - previous.value) * 100, 1)
    if current is None or previous is None:
        return None
    return current - previous


# --- the ETag ------------------------------------------------------------------------------------------

def last_change(scope: Scope) -> datetime | None:
    """When something last happened in the scope (one indexed lookup)."""
    return db.session.scalar(sa.select(sa.func.max(BoardMark.changed_at)).where(BoardMark.key.in_(scope.marks)))


# --- building a board ----------------------------------------------------------------------------------

@dataclass
class Tile:
    place: Place
    figures: Figures
    open: int = 0
    overdue: int = 0

    @property
    def level(self) -> str:
        """bad, warn or ok, from overdue cases and satisfaction (docs/METRICS.md)."""
        satisfaction = self.figures.satisfaction.value
        if self.overdue >= BAD_OVERDUE or (satisfaction is not None and satisfaction < BAD_SATISFACTION):
            return "bad"
        if self.overdue >= WARN_OVERDUE or (satisfaction is not None and satisfaction < WARN_SATISFACTION):
            return "warn"
        return "ok"


@dataclass
class Category:
    name_zh: str
    name_en: str = ""
    open: int = 0
    logged: int = 0
    resolved: int = 0
    satisfaction: Rate = Rate(0, 0)


@dataclass
class Board:
    scope: Scope
    period: Period
    figures: Figures
    previous: Figures
    open: int
    overdue: int
    logged_today: int
    logged_week: int
    weeks: list[date]
    trends: dict[str, list[float | int | None]]
    tiles: list[Tile]
    top_overdue: list[Case]
    categories: list[Category]
    coverage: tuple[int, int] | None
    trip_fare: float = 0
    trip_hours: float = 0
    rankings: dict[str, list[Tile]] = field(default_factory=dict)

    @property
    def cost_saved(self) -> float:
        return self.figures.trips_saved * self.trip_fare

    @property
    def hours_saved(self) -> float:
        return self.figures.trips_saved * self.trip_hours

    def change(self, name: str) -> float | None:
        return change(getattr(self.figures, name), getattr(self.previous, name))


def _as_sums(row) -> dict[str, int]:
    return {name: int(getattr(row, name)) for name in COUNTERS}


def _add(into: dict[str, int], sums: dict[str, int]) -> None:
    for name, value in sums.items():
        into[name] = into.get(name, 0) + value


def _empty() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def _tile_of(scope: Scope) -> dict[int, int]:
    """Every place id under a tile, mapped to the tile's place id."""
    mapping = {}
    for tile in scope.tiles:
        for place_id in scope.places.subtree(tile):
            mapping.setdefault(place_id, tile.id)
    return mapping


def season_start(today: date) -> date:
    """The first day of the heating season's campaigns that ``today`` falls in (1 September)."""
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


def build(scope: Scope, period: Period, viewer: User | None, today: date | None = None, wall: bool = False) -> Board:
    """Everything a board shows, for ``viewer`` (None for a wall screen, which shows no one's cases
    beyond the scope's own figures); the ``wall`` view skips what it does not show (the period before,
    trends, categories, coverage)."""
    from flask import current_app

    today = today or clock.today()
    tile_of = _tile_of(scope)
    tile_sums: dict[int, dict[str, int]] = {t.id: _empty() for t in scope.tiles}

    # The period, by place (the totals are the sum of every place, including cases without one).
    total = _empty()
    by_place = db.session.execute(
        sa.select(CaseCount.place_id, *metrics.sum_columns())
        .where(scope.counts, CaseCount.day >= period.first, CaseCount.day <= period.last)
        .group_by(CaseCount.place_id)
    ).all()
    for row in by_place:
        sums = _as_sums(row)
        _add(total, sums)
        if row.place_id in tile_of:
            _add(tile_sums[tile_of[row.place_id]], sums)
    empty = metrics.from_sums(_empty())
    previous = empty if wall else metrics.figures(scope.counts, period.previous().first, period.previous().last)

    # Twelve weeks, by day: the trends, and what was logged today and this week (the wall: today only).
    this_monday = today - timedelta(days=today.weekday())
    weeks = [this_monday - timedelta(weeks=WEEKS - 1 - n) for n in range(WEEKS)]
    week_sums = [_empty() for _ in weeks]
    logged_today = 0
    for row in db.session.execute(
        sa.select(CaseCount.day, *metrics.sum_columns())
        .where(scope.counts, CaseCount.day >= (today if wall else weeks[0]), CaseCount.day <= today)
        .group_by(CaseCount.day)
    ):
        day = row.day if isinstance(row.day, date) else date.fromisoformat(row.day)
        _add(week_sums[(day - weeks[0]).days // 7], _as_sums(row))
        if day == today:
            logged_today = int(row.logged)
    week_figures = [metrics.from_sums(sums) for sums in week_sums]
    trends = {name: [_plain(getattr(f, name)) for f in week_figures] for name in TREND_METRICS}

    # Live: open and overdue cases, by place.
    open_total = overdue_total = 0
    live: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    overdue = sa.func.sum(sa.case((Case.overdue_flagged_at.is_not(None), 1), else_=0))
    for place_id, open_count, overdue_count in db.session.execute(
        sa.select(Case.place_id, sa.func.count(), overdue)
        .where(scope.cases, Case.status.in_(OPEN_STATUSES)).group_by(Case.place_id)
    ):
        open_total += open_count
        overdue_total += int(overdue_count or 0)
        if place_id in tile_of:
            live[tile_of[place_id]][0] += open_count
            live[tile_of[place_id]][1] += int(overdue_count or 0)

    tiles = [Tile(place, metrics.from_sums(tile_sums[place.id]), *live[place.id]) for place in scope.tiles]

    top = sa.select(Case).where(scope.cases, Case.status.in_(OPEN_STATUSES), Case.overdue_flagged_at.is_not(None))
    if viewer is not None:
        top = top.where(access.case_scope(viewer))
    top_overdue = db.session.scalars(
        top.options(joinedload(Case.item), joinedload(Case.place), joinedload(Case.owner))
        .order_by(Case.due_at, Case.id).limit(TOP_OVERDUE)
    ).all()

    coverage = heating.coverage(scope.estates, season_start(today)) if scope.estates and not wall else None
    board = Board(
        scope=scope, period=period, figures=metrics.from_sums(total), previous=previous,
        open=open_total, overdue=overdue_total, logged_today=logged_today, logged_week=week_sums[-1]["logged"],
        weeks=weeks, trends=trends, tiles=tiles, top_overdue=list(top_overdue),
        categories=[] if wall else _categories(scope.counts, scope.cases, period), coverage=coverage,
        trip_fare=current_app.config["TRIP_FARE_YUAN"], trip_hours=current_app.config["TRIP_HOURS"],
    )
    board.rankings = {name: rank(tiles, name) for name in ("timely_sign_for", "resolution", "satisfaction")}
    return board


def _plain(value):
    return value.value if isinstance(value, Rate) else value


def rank(tiles: list[Tile], rate: str) -> list[Tile]:
    """Tiles best first by ``rate`` (ties: the larger count first); tiles with nothing to count last."""
    def key(tile: Tile):
        value: Rate = getattr(tile.figures, rate)
        return (value.value is None, -(value.value or 0), -value.denominator, tile.place.code)
    return sorted(tiles, key=key)


def _categories(counts: sa.ColumnElement[bool], cases: sa.ColumnElement[bool], period: Period) -> list[Category]:
    """By category: open now, and logged, resolved and satisfaction in the period."""
    names = dict(db.session.execute(sa.select(ServiceItem.category_zh, ServiceItem.category_en).distinct()).all())
    rows: dict[str, Category] = {}

    def row(category_zh: str) -> Category:
        return rows.setdefault(category_zh, Category(category_zh, names.get(category_zh) or ""))

    for category, logged, resolved, satisfied, rated in db.session.execute(
        sa.select(CaseCount.category, sa.func.sum(CaseCount.logged), sa.func.sum(CaseCount.resolved),
                  sa.func.sum(CaseCount.satisfied), sa.func.sum(CaseCount.rated))
        .where(counts, CaseCount.day >= period.first, CaseCount.day <= period.last)
        .group_by(CaseCount.category)
    ):
        entry = row(category)
        entry.logged, entry.resolved = int(logged or 0), int(resolved or 0)
        entry.satisfaction = Rate(int(satisfied or 0), int(rated or 0))
    for category, open_count in db.session.execute(
        sa.select(ServiceItem.category_zh, sa.func.count()).select_from(Case)
        .join(ServiceItem, ServiceItem.id == Case.item_id)
        .where(cases, Case.status.in_(OPEN_STATUSES)).group_by(ServiceItem.category_zh)
    ):
        row(category).open = open_count
    return sorted((r for r in rows.values() if r.open or r.logged or r.resolved),
                  key=lambda r: (-r.open, -r.logged, r.name_zh))


# --- the cases behind a figure ----------------------------------------------------------------------

def _day_bounds(period: Period) -> tuple[datetime, datetime]:
    return clock.local_midnight(period.first), clock.local_midnight(period.last + timedelta(days=1))


def _event_in(period: Period, *conditions) -> sa.ColumnElement[bool]:
    start, end = _day_bounds(period)
    return sa.exists().where(CaseEvent.case_id == Case.id, CaseEvent.at >= start, CaseEvent.at < end, *conditions)


def _callback_in(period: Period, *conditions) -> sa.ColumnElement[bool]:
    start, end = _day_bounds(period)
    return sa.exists().where(CallbackRecord.case_id == Case.id, CallbackRecord.at >= start,
                             CallbackRecord.at < end, *conditions)


def _figure_conditions(figure: str, period: Period) -> list[sa.ColumnElement[bool]]:
    start, end = _day_bounds(period)
    logged = [Case.created_at >= start, Case.created_at < end]
    resolutions = CaseEvent.kind.in_([EventKind.RESOLVED, EventKind.FINISHED_ON_SPOT])
    signed_at = sa.func.coalesce(Case.sign_missed_at, Case.claimed_at)
    return {
        "open": [Case.status.in_(OPEN_STATUSES)],
        "overdue": [Case.status.in_(OPEN_STATUSES), Case.overdue_flagged_at.is_not(None)],
        "logged": logged,
        "on_spot": [*logged, Case.on_spot],
        "resolved": [_event_in(period, resolutions)],
        "late": [_event_in(period, resolutions, CaseEvent.data["on_time"].as_boolean().is_(False))],
        "sign_late": [signed_at >= start, signed_at < end, Case.sign_due_at.is_not(None),
                      sa.or_(Case.sign_missed_at.is_not(None), Case.claimed_at > Case.sign_due_at)],
        "returned": [_event_in(period, CaseEvent.kind == EventKind.RETURNED)],
        "dissatisfied": [_callback_in(period, CallbackRecord.satisfaction == Satisfaction.DISSATISFIED)],
        "trips": [_event_in(period, resolutions), Case.trip_saved],
    }[figure]


FIGURES = {
    "open": _l("Open cases"),
    "overdue": _l("Overdue cases"),
    "logged": _l("Logged"),
    "on_spot": _l("Finished on the spot"),
    "resolved": _l("Resolved"),
    "late": _l("Resolved late"),
    "sign_late": _l("Not signed for in time"),
    "returned": _l("Returned"),
    "dissatisfied": _l("Rated dissatisfied"),
    "trips": _l("Trips saved"),
}


def cases_behind(scope: Scope, figure: str, period: Period, viewer: User) -> sa.Select:
    """The cases a figure of a board counts, that ``viewer`` may see, oldest first."""
    if figure not in FIGURES:
        raise NotFound(_l("There is no such figure."))
    return (sa.select(Case).where(scope.cases, access.case_scope(viewer), *_figure_conditions(figure, period))
            .options(joinedload(Case.item), joinedload(Case.place), joinedload(Case.service_point),
                     joinedload(Case.owner))
            .order_by(Case.created_at, Case.id))


# --- the monthly report -----------------------------------------------------------------------------

@dataclass
class ReportRow:
    point: ServicePoint | None     # None for the whole district
    sums: dict[str, int]
    previous_sums: dict[str, int]
    trip_fare: float
    trip_hours: float

    @property
    def figures(self) -> Figures:
        return metrics.from_sums(self.sums)

    @property
    def previous(self) -> Figures:
        return metrics.from_sums(self.previous_sums)

    @staticmethod
    def _days(sums: dict[str, int]) -> float | None:
        return sums["resolve_minutes"] / sums["resolved"] / 1440 if sums["resolved"] else None

    @property
    def average_days(self) -> float | None:
        """Average days from logging to resolution, over the month's resolutions."""
        return self._days(self.sums)

    @property
    def previous_average_days(self) -> float | None:
        return self._days(self.previous_sums)

    @property
    def cost_saved(self) -> float:
        return self.sums["trips_saved"] * self.trip_fare

    @property
    def previous_cost_saved(self) -> float:
        return self.previous_sums["trips_saved"] * self.trip_fare

    @property
    def hours_saved(self) -> float:
        return self.sums["trips_saved"] * self.trip_hours

    @property
    def previous_hours_saved(self) -> float:
        return self.previous_sums["trips_saved"] * self.trip_hours

    def change(self, name: str) -> float | None:
        if name == "average_days":
            now, before = self.average_days, self.previous_average_days
            return None if now is None or before is None else round(now - before, 1)
        if name in ("cost_saved", "hours_saved"):
            return round(getattr(self, name) - getattr(self, f"previous_{name}"))
        return change(getattr(self.figures, name), getattr(self.previous, name))


@dataclass
class Report:
    month: Period
    point: ServicePoint | None
    total: ReportRow
    points: list[ReportRow]
    categories: list[Category]


def monthly_report(month: date, point: ServicePoint | None = None) -> Report:
    """The month's figures the island reports upward: for the district (one row per service point)
    or for one point (one row per category)."""
    from flask import current_app

    period = month_period(month)
    before = period.previous()
    fare, hours = current_app.config["TRIP_FARE_YUAN"], current_app.config["TRIP_HOURS"]
    condition = CaseCount.service_point_id == point.id if point is not None else sa.true()

    def grouped(p: Period) -> dict[int, dict[str, int]]:
        rows = db.session.execute(
            sa.select(CaseCount.service_point_id, *metrics.sum_columns())
            .where(condition, CaseCount.day >= p.first, CaseCount.day <= p.last).group_by(CaseCount.service_point_id)
        ).all()
        return {row.service_point_id: _as_sums(row) for row in rows}

    now, then = grouped(period), grouped(before)

    def row_of(subject: ServicePoint | None, sums: dict[str, int], previous: dict[str, int]) -> ReportRow:
        return ReportRow(subject, sums, previous, fare, hours)

    total_now, total_then = _empty(), _empty()
    for sums in now.values():
        _add(total_now, sums)
    for sums in then.values():
        _add(total_then, sums)
    points = []
    if point is None:
        for p in db.session.scalars(sa.select(ServicePoint).where(ServicePoint.id.in_(set(now) | set(then)))
                                    .order_by(ServicePoint.code)):
            points.append(row_of(p, now.get(p.id, _empty()), then.get(p.id, _empty())))
    cases = Case.service_point_id == point.id if point is not None else sa.true()
    return Report(period, point, row_of(point, total_now, total_then), points, _categories(condition, cases, period))


# --- wall screens -----------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_screen(actor: User, name: str, scope: Scope) -> tuple[WallScreen, str]:
    """Let a wall screen show ``scope``'s wall view; return it and the token of its address (shown once)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Name the screen, for example 'Service center, hall'."), field="name")
    if scope.kind not in ("district", "place"):
        raise DomainError(_l("Wall screens show the district or a place."))
    if not may_see(actor, scope):
        raise Forbidden(_l("You may not show this board."))
    token = secrets.token_urlsafe(24)
    screen = WallScreen(name=name[:60], scope_kind=scope.kind, scope_code=scope.code, token_hash=_token_hash(token),
                        created_by=actor, created_at=clock.now())
    db.session.add(screen)
    db.session.flush()
    audit.record("create", actor=actor, obj=screen, reason=f"{scope.kind}:{scope.code}")
    db.session.commit()
    return screen, token


def revoke_screen(actor: User, screen: WallScreen) -> None:
    if screen.revoked_at is None:
        screen.revoked_at = clock.now()
        audit.record("revoke", actor=actor, obj=screen)
        db.session.commit()


def screen_for(token: str) -> WallScreen | None:
    """The screen a wall address opens, unless it was revoked."""
    if not token or len(token) > 64:
        return None
    return db.session.scalars(sa.select(WallScreen).where(WallScreen.token_hash == _token_hash(token),
                                                          WallScreen.revoked_at.is_(None))).first()


def screens() -> list[WallScreen]:
    return list(db.session.scalars(sa.select(WallScreen).options(joinedload(WallScreen.created_by))
                                   .order_by(WallScreen.revoked_at.is_not(None), WallScreen.created_at.desc())))


def seen(screen: WallScreen) -> None:
    """Note that the screen is showing (at most every ten minutes, so that polls do not all write)."""
    now = clock.now()
    if screen.last_seen_at is None or now - screen.last_seen_at > timedelta(minutes=10):
        screen_id = screen.id
        db.session.rollback()  # the poll's read transaction; the write takes the lock up front
        with begin_mode("IMMEDIATE"):
            db.session.execute(sa.update(WallScreen).where(WallScreen.id == screen_id).values(last_seen_at=now))
            db.session.commit()
