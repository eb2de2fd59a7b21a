"""Which cases a board counts: the place tree, the scope of a board, and the kinds of board (district, place,
point, team), each described once in ``KINDS``.

Everything that differs between a place's board and a team's (how its subject is found by code, which cases and
places it covers, who sees it, whether it has hotspots, a wall view, a monthly report, its staff's days) is a field
of its ``ScopeKind``; the rest of the portal asks the description and never compares a kind's key
(tests/test_boards.py checks). A new kind of board is one more ``ScopeKind`` here, and its access rule in
``portal.domain.access.boards``."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from portal.domain import NotFound, access
from portal.domain.platform import snapshot
from portal.extensions import db
from portal.models import Case, CaseCount, Place, PlaceKind, ServicePoint, Team, User


class Places:
    """The place tree of a board: its shape from what the worker keeps of the directory, its places themselves
    (names, for tiles and titles) loaded only when a page shows them, so that a poll never loads them."""

    def __init__(self) -> None:
        self.tree = snapshot.directory()
        self._all: dict[int, Place] | None = None

    @property
    def all(self) -> dict[int, Place]:
        if self._all is None:
            self._all = {p.id: p for p in db.session.scalars(sa.select(Place).order_by(Place.code))}
        return self._all

    def children(self, place_id: int | None) -> list[int]:
        """The active places directly under ``place_id``, by code."""
        rows = self.tree.places
        return [i for i in self.tree.children.get(place_id, []) if rows[i].active]

    def subtree(self, place_id: int) -> list[int]:
        ids, stack = [], [place_id]
        while stack:
            current = stack.pop()
            ids.append(current)
            stack.extend(self.children(current))
        return ids

    def leaves(self) -> list[int]:
        return [p.id for p in self.tree.places.values()
                if p.active and p.parent_id is not None and not self.children(p.id)]

    def estates(self, ids) -> list[int]:
        return [i for i in ids if self.tree.places[i].kind is PlaceKind.ESTATE]


@dataclass
class Scope:
    """The cases a board counts: conditions on the counters and on the cases, the marks that say when
    it last changed, and the places shown as its tiles (loaded when first shown)."""

    kind: ScopeKind
    code: str
    mark: str                      # its own mark ("all", "place:12"): the key of its month's topic
    ids: list[int]                 # the places (every one under the board's place), the point or the team
    marks: list[str]
    tile_ids: list[int]
    estates: list[int]
    places: Places
    place_id: int | None = None
    point: ServicePoint | None = None
    team: Team | None = None

    @property
    def counts(self) -> sa.ColumnElement[bool]:
        """The scope, on the counters (built when asked: a poll never needs it)."""
        return self.kind.on(self, CaseCount)

    @property
    def cases(self) -> sa.ColumnElement[bool]:
        """The scope, on the cases."""
        return self.kind.on(self, Case)

    @property
    def tiles(self) -> list[Place]:
        return [self.places.all[i] for i in self.tile_ids]

    @property
    def place(self) -> Place | None:
        return self.places.all[self.place_id] if self.place_id is not None else None

    @property
    def heating_only(self) -> bool:
        """Only estates: no trips off the island to save."""
        kinds = [self.places.tree.places[i].kind for i in (self.tile_ids or [self.place_id] * bool(self.place_id))]
        return bool(kinds) and all(kind in (PlaceKind.ESTATE, PlaceKind.DISTRICT) for kind in kinds)

    @property
    def subject(self) -> Place | ServicePoint | Team | None:
        """What the board is about (None for the district), for its title."""
        return self.place or self.point or self.team

    @property
    def badge(self) -> LazyString:
        """What the board is, said beside its title."""
        return self.kind.badge(self) if self.kind.badge is not None else self.kind.label


def _nothing(user: User) -> list:
    return []


@dataclass(frozen=True, eq=False)
class ScopeKind:
    """One kind of board, described once; the rest of the portal asks these fields instead of the kind's key.

    ``key`` names the kind in a board's address (/boards/<key>/<code>), a wall screen's row and the marks
    ("place:12"); ``label`` is what such a board is called among one's own boards and, unless ``badge`` says
    otherwise, beside its title; ``title`` is the title of a board about no one subject (the district's).
    ``find`` gives the scope of the board of a code (NotFound when there is none), ``on`` its cases on the
    counters or on the cases; ``seen_by`` names the access rule, asked with the scope, of who sees it;
    ``subjects`` is the table of what such boards are about (None: the district, which has one board) and
    ``own`` a user's own ones. The rest says what the board has.
    """

    key: str
    label: LazyString
    find: Callable[[Places, str], Scope]
    on: Callable[[Scope, Any], sa.ColumnElement[bool]]
    seen_by: str
    subjects: type | None = None
    own: Callable[[User], list] = _nothing
    title: LazyString | None = None
    badge: Callable[[Scope], Any] | None = None
    hotspots: bool = False      # hotspots of the last 90 days, and the month's topic a lead makes of one
    wall: bool = False          # a wall view, and wall screens that show it
    report: bool = False        # a monthly report (the district's, or the service point's)
    attendance: bool = False    # its staff's days on the island

    def mark_of(self, subject_id: int) -> str:
        """The mark of the board of one subject: what a change in its scope writes."""
        return f"{self.key}:{subject_id}"


def _district(places: Places, code: str) -> Scope:
    """The whole district, its tiles the places one level under each top place: the island's villages and the heating
    district's estates (a hamlet is a tile of its village's board, one click further)."""
    rows = places.tree.places
    tiles = sorted((child for top in places.children(None) for child in (places.children(top) or [top])),
                   key=lambda i: (rows[i].kind is PlaceKind.ESTATE, rows[i].code))
    return Scope(DISTRICT, code="all", mark="all", ids=[], marks=["all"], tile_ids=tiles, estates=places.estates(rows),
                 places=places)


def _place(places: Places, code: str) -> Scope:
    rows = places.tree.places
    place = rows.get(places.tree.codes.get(code, 0))
    if place is None or not place.active:
        raise NotFound(_l("There is no place %(code)s.", code=code))
    ids = places.subtree(place.id)
    return Scope(PLACE, code=code, mark=PLACE.mark_of(place.id), ids=ids, marks=[PLACE.mark_of(i) for i in ids],
                 tile_ids=places.children(place.id), estates=places.estates(ids), places=places, place_id=place.id)


def _point(places: Places, code: str) -> Scope:
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code=code, active=True)).first()
    if point is None:
        raise NotFound(_l("There is no service point %(code)s.", code=code))
    served = [p.id for p in places.tree.places.values() if p.active and p.service_point_id == point.id]
    served_ids = [i for p in served for i in places.subtree(p)]
    return Scope(POINT, code=code, mark=POINT.mark_of(point.id), ids=[point.id], marks=[POINT.mark_of(point.id)],
                 tile_ids=served, estates=places.estates(served_ids), places=places, point=point)


def _team(places: Places, code: str) -> Scope:
    team = db.session.scalars(sa.select(Team).filter_by(code=code)).first()
    if team is None:
        raise NotFound(_l("There is no team %(code)s.", code=code))
    return Scope(TEAM, code=code, mark=TEAM.mark_of(team.id), ids=[team.id], marks=[TEAM.mark_of(team.id)], tile_ids=[],
                 estates=[], places=places, team=team)


DISTRICT = ScopeKind(
    key="district", label=_l("District overview"), title=_l("The whole district"),
    find=_district, on=lambda scope, model: sa.true(), seen_by="board.district",
    hotspots=True, wall=True, report=True)
POINT = ScopeKind(
    key="point", label=_l("Service point board"),
    find=_point, on=lambda scope, model: model.service_point_id == scope.ids[0], seen_by="board.point",
    subjects=ServicePoint, own=lambda user: [user.service_point] if user.service_point is not None else [],
    report=True, attendance=True)
TEAM = ScopeKind(
    key="team", label=_l("Team board"),
    find=_team, on=lambda scope, model: model.team_id == scope.ids[0], seen_by="board.team",
    subjects=Team, own=lambda user: [user.team] if user.team is not None else [])
PLACE = ScopeKind(
    key="place", label=_l("Place board"), badge=lambda scope: scope.place.kind.label,  # a village, an estate, ...
    find=_place, on=lambda scope, model: model.place_id.in_(scope.ids), seen_by="board.place",
    subjects=Place, own=lambda user: sorted(user.places, key=lambda p: p.code),
    hotspots=True, wall=True)
# Every kind of board, by key, in the order one's own boards are listed.
KINDS: dict[str, ScopeKind] = {kind.key: kind for kind in (DISTRICT, POINT, TEAM, PLACE)}


def scope_for(kind: str, code: str) -> Scope:
    """The scope of the board ``kind``/``code``; NotFound for anything else."""
    if kind not in KINDS:
        raise NotFound(_l("There is no such board."))
    return KINDS[kind].find(Places(), code)


def boards_of(user: User) -> list[tuple[ScopeKind, Place | ServicePoint | Team]]:
    """The boards of a user's own point, team and places (for those who do not see everything)."""
    return [(kind, subject) for kind in KINDS.values() for subject in kind.own(user)
            if access.can(user, "board.view", scope_for(kind.key, subject.code))]
