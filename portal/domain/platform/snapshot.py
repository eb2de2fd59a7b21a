"""What a worker process keeps of the directory, the catalog and the working calendar between requests.

The place tree, the service points, who covers which places, the service items' categories, the holidays and
the cancelled sailings change rarely and are read by nearly every request (the access rules, the menu, the
boards, every time limit). The database marks every change of their tables itself (the triggers of migrations
5d3a8f1e6b20 and a0c2e4f6b8d1 add ``change_marks`` rows keyed "directory", "catalog" and "calendar", whoever
writes: the directory pages, an import, the demo, a hand-written UPDATE). A request reads the keys' newest mark
and count once, in the statement that loads the signed-in user (``STAMPS``; or on its own, index-only, where no
one is signed in), and uses what the process keeps under them; only a moved mark loads them again. A transaction
that is changing one of them itself (an object of it in the session, or an INSERT, UPDATE or DELETE of its tables
through the session) reads a private copy, with its own unwritten rows, until it ends.

Everything here is plain data (ids, codes, kinds), never ORM objects, so nothing kept belongs to a session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.domain.platform import shelves, unit
from portal.extensions import db
from portal.models import (
    CalendarDay,
    CancelledSailing,
    ChangeMark,
    DayKind,
    Place,
    PlaceKind,
    PointKind,
    ServiceItem,
    ServicePoint,
    Team,
    User,
    team_places,
    user_places,
)

_INFO = "snapshot"            # this request's stamps and snapshots, in the session's info
_WATCHED = {Place: "directory", ServicePoint: "directory", Team: "directory", User: "directory",
            ServiceItem: "catalog", CalendarDay: "calendar", CancelledSailing: "calendar"}
# The tables whose INSERT, UPDATE or DELETE through the session changes a kind (its triggers mark it on commit).
_TABLES = {**{model.__tablename__: kind for model, kind in _WATCHED.items()},
           user_places.name: "directory", team_places.name: "directory"}


@dataclass(frozen=True)
class PlaceRow:
    id: int
    code: str
    kind: PlaceKind
    parent_id: int | None
    service_point_id: int | None
    active: bool


@dataclass(frozen=True)
class PointRow:
    id: int
    kind: PointKind
    place_id: int | None
    on_island: bool


@dataclass
class Directory:
    """The place tree (active places and not: a deactivated hamlet's old cases still count), the service points,
    and the places given to each user and each team. ``derived`` keeps what the access rules work out from it
    (a user's covered places), so that it is worked out once per change too."""

    places: dict[int, PlaceRow]
    points: dict[int, PointRow]
    user_places: dict[int, frozenset[int]]
    team_places: dict[int, frozenset[int]]
    children: dict[int | None, list[int]] = field(default_factory=dict)
    parents: dict[int, int | None] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    derived: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for place in self.places.values():
            self.children.setdefault(place.parent_id, []).append(place.id)
            self.parents[place.id] = place.parent_id
            self.codes[place.code] = place.id


@dataclass(frozen=True)
class Catalog:
    categories: list[str]  # the service items' categories (Chinese), sorted
    items: list[tuple[str, str, str]]  # the active items' code, Chinese and English names, by code


@dataclass
class Calendars:
    """The working calendar's days (``portal.domain.cases.timekeeping`` makes each point's calendar of them): the
    district's holidays and make-up days, each point's own, and the off-island days whose sailing was cancelled.
    ``merged`` keeps the days that apply to a point, worked out once per change (never changed by a reader)."""

    district: dict[date, DayKind]
    own: dict[int, dict[date, DayKind]]
    no_sailing: frozenset[date]
    merged: dict = field(default_factory=dict)

    def days_of(self, point_id: int | None, with_district: bool) -> dict[date, DayKind]:
        """The days of the point ``point_id`` (None: the district alone), its own winning over the district's,
        which apply only ``with_district``."""
        key = (point_id, with_district)
        if key not in self.merged:
            self.merged[key] = {**(self.district if with_district else {}), **self.own.get(point_id, {})}
        return self.merged[key]


def _load_directory() -> Directory:
    session = db.session
    places = {row.id: PlaceRow(row.id, row.code, row.kind, row.parent_id, row.service_point_id, row.active)
              for row in session.execute(sa.select(Place.id, Place.code, Place.kind, Place.parent_id,
                                                   Place.service_point_id, Place.active).order_by(Place.code))}
    points = {row.id: PointRow(row.id, row.kind, row.place_id, row.on_island) for row in session.execute(
        sa.select(ServicePoint.id, ServicePoint.kind, ServicePoint.place_id, ServicePoint.on_island))}
    return Directory(places, points, _grouped(user_places.c.user_id, user_places.c.place_id),
                     _grouped(team_places.c.team_id, team_places.c.place_id))


def _grouped(owner, place) -> dict[int, frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for owner_id, place_id in db.session.execute(sa.select(owner, place)):
        groups.setdefault(owner_id, set()).add(place_id)
    return {owner_id: frozenset(ids) for owner_id, ids in groups.items()}


def _load_catalog() -> Catalog:
    return Catalog(list(db.session.scalars(sa.select(ServiceItem.category_zh).distinct()
                                           .order_by(ServiceItem.category_zh))),
                   [tuple(row) for row in db.session.execute(sa.select(ServiceItem.code, ServiceItem.name_zh,
                                                                       ServiceItem.name_en)
                                                             .where(ServiceItem.active).order_by(ServiceItem.code))])


def _load_calendars() -> Calendars:
    district: dict[date, DayKind] = {}
    own: dict[int, dict[date, DayKind]] = {}
    for day, kind, point_id in db.session.execute(sa.select(CalendarDay.day, CalendarDay.kind,
                                                            CalendarDay.service_point_id).where(CalendarDay.active)):
        (district if point_id is None else own.setdefault(point_id, {}))[day] = kind
    no_sailing = frozenset(db.session.scalars(sa.select(CancelledSailing.day).where(CancelledSailing.active)))
    return Calendars(district, own, no_sailing)


_LOADERS = {"directory": _load_directory, "catalog": _load_catalog, "calendar": _load_calendars}
_KEPT = shelves.shelf(16)  # (database, kind) -> (stamp, what was loaded): only the newest stamp of each kind


def directory() -> Directory:
    return _current("directory")


def catalog() -> Catalog:
    return _current("catalog")


def calendars() -> Calendars:
    return _current("calendar")


def _current(kind: str):
    session = db.session
    info = session.info.setdefault(_INFO, {})
    if kind in _touched(session):  # changed and not yet flushed: read with its own rows (the query flushes them)
        info[kind] = _LOADERS[kind]()
    if kind in info:
        return info[kind]
    if kind in unit.current(session).changed_kinds:
        info[kind] = _LOADERS[kind]()  # this transaction changed it: its own rows, kept by no one else
        return info[kind]
    stamps = info.get("stamps")
    if stamps is None:
        stamps = info["stamps"] = _stamps()
    stamp = stamps.get(kind)
    key = (str(db.engine.url), kind)
    entry = _KEPT.get(key) if stamp is not None else None
    kept = entry[1] if entry is not None and entry[0] == stamp else None
    if kept is None:
        kept = _LOADERS[kind]()
        if stamp is not None:  # a database without marks (not migrated this far) is read each request
            _KEPT.put(key, (stamp, kept))
    info[kind] = kept
    return kept


def stamps() -> tuple | None:
    """The stamps of what is kept here (the directory, the catalog, the calendar) as this request read them, to key what is made from them (a board's
    rendered tiles name its places); None while this transaction changes either, or where they have no marks yet."""
    session = db.session
    if _touched(session) or unit.current(session).changed_kinds:
        return None
    info = session.info.setdefault(_INFO, {})
    if "stamps" not in info:
        info["stamps"] = _stamps()
    found = info["stamps"]
    return tuple(found[kind] for kind in _LOADERS) if len(found) == len(_LOADERS) else None


def _stamp_of(kind: str, figure) -> sa.ScalarSelect:
    return sa.select(figure).where(ChangeMark.key == kind).scalar_subquery()


# The newest mark and the number of marks of each kind: a transaction that commits after a later one still moves
# the pair (its mark is counted), so nothing is kept under a stamp that missed a change.
STAMPS = [_stamp_of(kind, figure) for kind in _LOADERS for figure in (sa.func.max(ChangeMark.id), sa.func.count())]


def _stamps() -> dict[str, tuple[int, int]]:
    return _as_stamps(db.session.execute(sa.select(*STAMPS)).one())


def _as_stamps(values) -> dict[str, tuple[int, int]]:
    return {kind: (values[2 * i], values[2 * i + 1]) for i, kind in enumerate(_LOADERS) if values[2 * i] is not None}


def note_stamps(values) -> None:
    """Take the stamps from the columns ``STAMPS`` that this request's first statement read beside its own (the
    signed-in user's), so that they cost no statement of their own."""
    db.session.info.setdefault(_INFO, {})["stamps"] = _as_stamps(values)


def _touched(session: Session) -> set[str]:
    """The kinds of kept data this session holds unwritten changes to."""
    return {kind for obj in (*session.new, *session.dirty, *session.deleted)
            for model, kind in _WATCHED.items() if isinstance(obj, model)}


def forget() -> None:
    """Read the marks again at the next use (each request begins with this)."""
    db.session.info.pop(_INFO, None)


@sa.event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context, _instances) -> None:
    _changing(session, _touched(session))


@sa.event.listens_for(Session, "do_orm_execute")
def _note_statements(state) -> None:
    """An INSERT, UPDATE or DELETE of a kept kind's table run through the session (``sa.update(CalendarDay)``)."""
    if state.is_insert or state.is_update or state.is_delete:
        kind = _TABLES.get(getattr(getattr(state.statement, "table", None), "name", None))
        if kind:
            _changing(state.session, {kind})


def _changing(session: Session, kinds: set[str]) -> None:
    if kinds:
        unit.current(session).changed_kinds.update(kinds)  # read privately until the transaction ends
        info = session.info.get(_INFO, {})
        for kind in kinds:
            info.pop(kind, None)


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    changed = unit.current(session).changed_kinds
    if changed:
        changed.clear()
        session.info.pop(_INFO, None)  # the marks moved (committed) or the private copy is void (rolled back)
