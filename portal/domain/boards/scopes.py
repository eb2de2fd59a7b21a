"""Which cases a board counts: the place tree, and the scope of a district, place, point or team board."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.domain import NotFound, access
from portal.extensions import db
from portal.models import Case, CaseCount, Place, PlaceKind, ServicePoint, Team, User


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
