"""Boards: what a team lead sees for a place, a service point, a team or the whole district.

A board is built from a fixed handful of queries whatever the number of cases: the daily counters
(``CaseCount``) summed for the period, the period before, each day of the last twelve weeks and each
place; live counts of open and overdue cases grouped by place; the ten most overdue cases. Its ETag
comes from its scope's ``ChangeMark`` rows, so a poll with nothing new is answered before any of that runs.
The figures are defined in docs/METRICS.md; who may see which board is decided by ``portal.domain.access``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, joinedload

from portal import clock
from portal.domain import NotFound, access
from portal.domain.boards import counters, metrics
from portal.domain.boards.hotspots import Hotspot, hotspots
from portal.domain.boards.metrics import Figures, Rate
from portal.domain.boards.periods import Period, change
from portal.domain.boards.scopes import Scope
from portal.domain.platform import shelves
from portal.extensions import db
from portal.models import (
    COUNTERS,
    OPEN_STATUSES,
    CallbackRecord,
    Campaign,
    CampaignVisit,
    Case,
    CaseCount,
    CaseEvent,
    ChangeMark,
    EventKind,
    Household,
    Mode,
    Place,
    Satisfaction,
    ServiceItem,
    User,
    VisitResult,
)

WEEKS = 12
TOP_OVERDUE = 10
# A tile turns red at this many overdue cases or below this satisfaction, amber at one overdue case
# or below the second satisfaction figure (docs/METRICS.md, "Board tiles").
BAD_OVERDUE, BAD_SATISFACTION = 3, 0.80
WARN_OVERDUE, WARN_SATISFACTION = 1, 0.90
RANKED = ("timely_sign_for", "resolution", "satisfaction")
TREND_METRICS = ("logged", "resolved", "timely_sign_for", "resolution", "satisfaction", "on_time_resolution")

# --- the ETag ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stamp:
    """When something last happened in a scope, and a token that changes with every transaction that marks it
    (the newest mark and how many there are: a transaction that commits after a later one still moves it)."""

    at: datetime | None
    token: str


def last_change(scope: Scope | list[str]) -> Stamp:
    """The stamp of a scope, or of a list of marks (one index-only lookup)."""
    marks = scope if isinstance(scope, list) else scope.marks
    at, count, newest = db.session.execute(
        sa.select(sa.func.max(ChangeMark.changed_at), sa.func.count(), sa.func.max(ChangeMark.id))
        .where(ChangeMark.key.in_(marks))).one()
    return Stamp(at, f"{newest}.{count}")


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

    @property
    def why(self) -> str:
        """When the satisfaction colours the tile, say so on it (a red tile with "0 overdue" must say why)."""
        satisfaction = self.figures.satisfaction.value
        if satisfaction is None or satisfaction >= WARN_SATISFACTION:
            return ""
        limit = BAD_SATISFACTION if satisfaction < BAD_SATISFACTION else WARN_SATISFACTION
        return str(_l("Satisfaction below %(limit)d %%", limit=round(limit * 100)))


@dataclass
class Category:
    name_zh: str
    name_en: str = ""
    open: int | None = None    # open cases now: only for a period that runs to today
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
    logged_today: int          # residents' requests logged today (今日受理)
    logged_week: int
    weeks: list[date]
    trends: dict[str, list[float | int | None]]
    tiles: list[Tile]
    top_overdue: list[Case]
    categories: list[Category]
    coverage: tuple[int, int] | None
    trip: metrics.TripCost = metrics.TripCost(0, 0, 0, 0, 0)
    hotspots: list[Hotspot] = field(default_factory=list)  # place x category pairs that recur or rise
    rankings: dict[str, list[Tile]] = field(default_factory=dict)
    proactive_today: int = 0   # proactive work logged today (主动服务: care visits, campaign findings), apart
    proactive_week: int = 0

    @property
    def cost_saved(self) -> float:
        return self.trip.cost(self.figures.trips_saved)

    @property
    def hours_saved(self) -> float:
        return self.trip.time(self.figures.trips_saved)

    def change(self, name: str) -> float | None:
        return change(getattr(self.figures, name), getattr(self.previous, name))


def _as_sums(row) -> dict[str, int]:
    return {name: int(getattr(row, name)) for name in metrics.SUMMED}


def _add(into: dict[str, int], sums: dict[str, int]) -> None:
    for name, value in sums.items():
        into[name] = into.get(name, 0) + value


def _empty() -> dict[str, int]:
    return dict.fromkeys(metrics.SUMMED, 0)


def _tile_of(scope: Scope) -> dict[int, int]:
    """Every place id under a tile, mapped to the tile's place id."""
    mapping = {}
    for tile in scope.tile_ids:
        for place_id in scope.places.subtree(tile):
            mapping.setdefault(place_id, tile)
    return mapping


def season_start(today: date) -> date:
    """The first day of the heating season's campaigns that ``today`` falls in (1 September)."""
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


def coverage(place_ids: list[int], since: date) -> tuple[int, int]:
    """Households visited in home-visit campaigns since ``since`` over households (an estate board's coverage)."""
    households = db.session.scalar(sa.select(sa.func.count()).select_from(Household).where(
        Household.place_id.in_(place_ids), Household.active)) or 0
    visited = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(CampaignVisit.household_id))).join(Campaign).where(
            CampaignVisit.place_id.in_(place_ids), CampaignVisit.result != VisitResult.NOT_HOME,
            Campaign.ends_on >= since)) or 0
    return visited, households


def build(scope: Scope, period: Period, viewer: User | None, today: date | None = None, wall: bool = False) -> Board:
    """Everything a board shows, for ``viewer`` (None for a wall screen, which shows no one's cases
    beyond the scope's own figures); the ``wall`` view skips what it does not show (the period before,
    trends, categories, coverage)."""
    today = today or clock.today()
    tile_of = _tile_of(scope)
    tile_sums: dict[int, dict[str, int]] = {t: _empty() for t in scope.tile_ids}

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
    logged_today = proactive_today = 0
    for row in db.session.execute(
        sa.select(CaseCount.day, *metrics.sum_columns())
        .where(scope.counts, CaseCount.day >= (today if wall else weeks[0]), CaseCount.day <= today)
        .group_by(CaseCount.day)
    ):
        day = row.day if isinstance(row.day, date) else date.fromisoformat(row.day)
        _add(week_sums[(day - weeks[0]).days // 7], _as_sums(row))
        if day == today:
            logged_today, proactive_today = int(row.logged), int(row.proactive)
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

    covered = coverage(scope.estates, season_start(today)) if scope.estates and not wall else None
    board = Board(
        scope=scope, period=period, figures=metrics.from_sums(total), previous=previous,
        open=open_total, overdue=overdue_total, logged_today=logged_today, logged_week=week_sums[-1]["logged"],
        weeks=weeks, trends=trends, tiles=tiles, top_overdue=list(top_overdue),
        categories=[] if wall else _categories(scope.counts, period, scope.cases, today), coverage=covered,
        trip=metrics.TripCost.configured(), proactive_today=proactive_today, proactive_week=week_sums[-1]["proactive"],
        hotspots=hotspots(scope.counts, today) if scope.kind.hotspots and not wall else [],
    )
    board.rankings = {name: rank(tiles, name) for name in RANKED}
    return board


# --- a board's data, kept per worker under its stamp ------------------------------------------------------------

@dataclass(frozen=True)
class _Kept:
    board: Board              # without its scope, its tiles' places and its top overdue cases (held by id)
    tile_places: list[int]
    top_overdue: list[int]


_BOARDS = shelves.shelf()


def board_for(scope: Scope, period: Period, viewer: User | None, stamp: Stamp, today: date | None = None,
              wall: bool = False) -> Board:
    """``build``, kept per worker process under the scope's stamp: what a board shows changes only with a
    transaction that marks its scope (every counted event, every overdue flag of the sweep, a move of a case),
    and each of those moves the stamp, so a kept board is never stale. Only its numbers are kept: its places
    and its most overdue cases are those of this request (a renamed place, a reassigned case show at once), and
    the template still renders time-relative text ("overdue by 2 h") fresh."""
    today = today or clock.today()
    key = (scope.kind.key, scope.code, period.kind, period.first, period.last, viewer.id if viewer else None, wall, today,
           stamp.token)
    kept = _BOARDS.get(key)
    if kept is None:
        built = build(scope, period, viewer, today, wall)
        _BOARDS.put(key, _Kept(replace(built, scope=None, tiles=[replace(tile, place=None) for tile in built.tiles],
                                       top_overdue=[], rankings={}),
                               [tile.place.id for tile in built.tiles], [case.id for case in built.top_overdue]))
        return built
    return _bind(kept, scope)


def _bind(kept: _Kept, scope: Scope) -> Board:
    tiles = [replace(tile, place=scope.places.all[place_id]) for tile, place_id in zip(kept.board.tiles,
                                                                                     kept.tile_places, strict=True)]
    cases = {case.id: case for case in db.session.scalars(
        sa.select(Case).where(Case.id.in_(kept.top_overdue))
        .options(joinedload(Case.item), joinedload(Case.place), joinedload(Case.owner)))} if kept.top_overdue else {}
    board = replace(kept.board, scope=scope, tiles=tiles, top_overdue=[cases[i] for i in kept.top_overdue if i in cases])
    board.rankings = {name: rank(tiles, name) for name in RANKED}
    return board


def _plain(value):
    return value.value if isinstance(value, Rate) else value


def rank(tiles: list[Tile], rate: str) -> list[Tile]:
    """Tiles best first by ``rate`` (ties: the larger count first); tiles with nothing to count last."""
    def key(tile: Tile):
        value: Rate = getattr(tile.figures, rate)
        return (value.value is None, -(value.value or 0), -value.denominator, tile.place.code)
    return sorted(tiles, key=key)


def _categories(counts: sa.ColumnElement[bool], period: Period, cases: sa.ColumnElement[bool] | None = None,
                today: date | None = None) -> list[Category]:
    """By category: logged, resolved and satisfaction in the period, for the categories that had cases in it (any
    of the period's own counters: logged, signed for, resolved, called back...). With ``cases``, and only for a
    period that runs to today, also the open cases now, and the categories with an open case (they are open in
    the period); a past period's categories and order never depend on today's cases, and its ``open`` is None
    (docs/METRICS.md, "By category")."""
    names = dict(db.session.execute(sa.select(ServiceItem.category_zh, ServiceItem.category_en).distinct()).all())
    rows: dict[str, Category] = {}

    def row(category_zh: str) -> Category:
        return rows.setdefault(category_zh, Category(category_zh, names.get(category_zh) or ""))

    for found in db.session.execute(
        sa.select(CaseCount.category, *metrics.sum_columns())
        .where(counts, CaseCount.day >= period.first, CaseCount.day <= period.last)
        .group_by(CaseCount.category)
    ):
        sums = _as_sums(found)
        if not any(sums[name] for name in COUNTERS):  # requests only: proactive work has no row here
            continue
        entry = row(found.category)
        entry.logged, entry.resolved = sums["logged"], sums["resolved"]
        entry.satisfaction = Rate(sums["satisfied"], sums["rated"])
    live = cases is not None and period.last >= (today or clock.today())
    if live:
        for entry in rows.values():
            entry.open = 0
        for category, open_count in db.session.execute(
            sa.select(ServiceItem.category_zh, sa.func.count()).select_from(Case)
            .join(ServiceItem, ServiceItem.id == Case.item_id)
            .where(cases, Case.status.in_(OPEN_STATUSES)).group_by(ServiceItem.category_zh)
        ):
            row(category).open = open_count
    return sorted(rows.values(), key=lambda r: (-(r.open or 0), -r.logged, -r.resolved, r.name_zh))


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
    # Residents' requests (受理): the figures count proactive work apart (docs/METRICS.md).
    logged = [Case.created_at >= start, Case.created_at < end, Case.proactive.is_(False)]
    signed_at = sa.func.coalesce(Case.sign_missed_at, Case.claimed_at)
    return {
        "open": [Case.status.in_(OPEN_STATUSES)],
        "overdue": [Case.status.in_(OPEN_STATUSES), Case.overdue_flagged_at.is_not(None)],
        "logged": logged,
        "on_spot": [*logged, Case.on_spot],
        "counter_logged": [*logged, Case.mode == Mode.COUNTER],
        "proactive": [Case.created_at >= start, Case.created_at < end, Case.proactive.is_(True)],
        "sign_late": [sa.or_(
            sa.and_(signed_at >= start, signed_at < end, Case.sign_due_at.is_not(None),
                    sa.or_(Case.sign_missed_at.is_not(None), Case.claimed_at > Case.sign_due_at)),
            # returned unsigned after its sign-for due: the return was the (late) answer
            _event_in(period, CaseEvent.kind == EventKind.RETURNED, CaseEvent.data["in_time"].as_boolean().is_(False)))],
        "returned": [*logged, sa.exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == EventKind.RETURNED)],
        "dissatisfied": [_callback_in(period, CallbackRecord.satisfaction == Satisfaction.DISSATISFIED)],
    }[figure]


_EARLIER = aliased(CaseEvent)
# Figures that count resolutions, not cases: a case redone and resolved twice in the period is two rows, as it
# is two in the counters (docs/METRICS.md).
PER_RESOLUTION = {
    "resolved": [Case.proactive.is_(False)],
    "late": [Case.proactive.is_(False), CaseEvent.data["on_time"].as_boolean().is_(False)],
    # The resolutions that saved journeys: each case's first, as its event recorded them (or, before journeys
    # were recorded, its first resolution that saved a trip, as the counters' rebuild reads it).
    "trips": [sa.or_(CaseEvent.data["journeys"].as_integer() > 0, sa.and_(
        CaseEvent.data["journeys"].as_integer().is_(None), CaseEvent.data["trip"].as_boolean().is_(True),
        CaseEvent.id == sa.select(sa.func.min(_EARLIER.id)).where(
            _EARLIER.case_id == Case.id, _EARLIER.kind.in_(counters.RESOLUTIONS)).scalar_subquery()))],
}


FIGURES = {
    "open": _l("Open cases"),
    "overdue": _l("Overdue cases"),
    "logged": _l("Logged"),
    "on_spot": _l("Finished on the spot"),
    "counter_logged": _l("Counter requests logged"),
    "proactive": _l("Proactive work"),
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
    query = sa.select(Case).where(scope.cases, access.case_scope(viewer))
    if figure in PER_RESOLUTION:  # one row per resolution in the period
        start, end = _day_bounds(period)
        query = query.join(CaseEvent, sa.and_(
            CaseEvent.case_id == Case.id, CaseEvent.kind.in_(counters.RESOLUTIONS),
            CaseEvent.at >= start, CaseEvent.at < end, *PER_RESOLUTION[figure]))
    else:
        query = query.where(*_figure_conditions(figure, period))
    return query.order_by(Case.created_at, Case.id)


