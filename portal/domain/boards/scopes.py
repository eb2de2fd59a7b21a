"""Which cases a board counts: the place tree, and the scope of a district, place, point or team board."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
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

    kind: str                      # district, place, point, team
    code: str
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
        return self._on(CaseCount)

    @property
    def cases(self) -> sa.ColumnElement[bool]:
        """The scope, on the cases."""
        return self._on(Case)

    def _on(self, model) -> sa.ColumnElement[bool]:
        if self.kind == "district":
            return sa.true()
        if self.kind == "place":
            return model.place_id.in_(self.ids)
        return (model.service_point_id if self.kind == "point" else model.team_id) == self.ids[0]

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


def scope_for(kind: str, code: str) -> Scope:
    """The scope of the board ``kind``/``code``; NotFound for anything else."""
    places = Places()
    rows = places.tree.places
    if kind == "district":
        leaves = sorted(places.leaves(), key=lambda i: (rows[i].kind is PlaceKind.ESTATE, rows[i].code))
        return Scope("district", "all", [], ["all"], leaves, places.estates(rows), places)
    if kind == "place":
        place = rows.get(places.tree.codes.get(code, 0))
        if place is None or not place.active:
            raise NotFound(_l("There is no place %(code)s.", code=code))
        ids = places.subtree(place.id)
        return Scope("place", code, ids, [f"place:{i}" for i in ids], places.children(place.id), places.estates(ids),
                     places, place_id=place.id)
    if kind == "point":
        point = db.session.scalars(sa.select(ServicePoint).filter_by(code=code, active=True)).first()
        if point is None:
            raise NotFound(_l("There is no service point %(code)s.", code=code))
        served = [p.id for p in rows.values() if p.active and p.service_point_id == point.id]
        served_ids = [i for p in served for i in places.subtree(p)]
        return Scope("point", code, [point.id], [f"point:{point.id}"], served, places.estates(served_ids),
                     places, point=point)
    if kind == "team":
        team = db.session.scalars(sa.select(Team).filter_by(code=code)).first()
        if team is None:
            raise NotFound(_l("There is no team %(code)s.", code=code))
        return Scope("team", code, [team.id], [f"team:{team.id}"], [], [], places, team=team)
    raise NotFound(_l("There is no such board."))


def boards_of(user: User) -> list[tuple[str, Place | ServicePoint | Team]]:
    """The boards of a user's own point, team and places (for those who do not see everything)."""
    candidates: list[tuple[str, Place | ServicePoint | Team]] = []
    if user.service_point is not None:
        candidates.append(("point", user.service_point))
    if user.team is not None:
        candidates.append(("team", user.team))
    candidates += [("place", p) for p in sorted(user.places, key=lambda p: p.code)]
    return [(kind, subject) for kind, subject in candidates
            if access.can(user, "board.view", scope_for(kind, subject.code))]
