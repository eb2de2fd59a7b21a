"""Who a user is, as the rules need it: whether they see the whole district, and which places they cover.

A user covers the places they are given in the directory and every place below them (a village brings its
hamlets). An administrator, and a lead with no places (a district leader), see the whole district; a lead
with places (a station head, the island centre's director) answers for those places only.

The place tree and each user's places come from what the worker keeps of the directory
(``portal.domain.platform.snapshot``): read once per change of the directory, not once per request, and
private to a transaction that is changing it.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.domain.platform import snapshot
from portal.models import PointKind, Role, User

# Roles that work cases (everyone but the administrator).
WORKERS = frozenset({Role.STAFF, Role.PROXY, Role.TEAM, Role.BUTLER, Role.LEAD})


def forget() -> None:
    """Read the directory's marks again at the next use (each request begins with this)."""
    snapshot.forget()


def _derived(key: tuple, work):
    """``work()``, kept with the directory it was worked out from."""
    derived = snapshot.directory().derived
    if key not in derived:
        derived[key] = work()
    return derived[key]


def children() -> dict[int | None, list[int]]:
    """Place ids under each place id (active or not: a deactivated hamlet's old cases still count)."""
    return snapshot.directory().children


def parents() -> dict[int, int | None]:
    return snapshot.directory().parents


def served_by() -> dict[int, int | None]:
    """The service point serving each place."""
    return _derived(("served_by",), lambda: {p.id: p.service_point_id for p in snapshot.directory().places.values()})


def stations() -> frozenset[int]:
    """The heating stations' ids."""
    return _derived(("stations",), lambda: frozenset(p.id for p in snapshot.directory().points.values()
                                                     if p.kind is PointKind.HEATING_STATION))


def place_by_code() -> dict[str, int]:
    return snapshot.directory().codes


def point_of(user: User) -> snapshot.PointRow | None:
    """The user's service point, as the rules need it (its kind, place, whether it is on the island)."""
    return snapshot.directory().points.get(user.service_point_id)


def above(place_ids) -> frozenset[int]:
    """These places and every place they are part of."""
    up, found = parents(), set()
    for place_id in place_ids:
        while place_id is not None and place_id not in found:
            found.add(place_id)
            place_id = up.get(place_id)
    return frozenset(found)


def below(place_ids) -> frozenset[int]:
    """These places and every place under them."""
    found, stack, tree = set(place_ids), list(place_ids), children()
    while stack:
        for child in tree.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return frozenset(found)


def root_of(place_id: int | None) -> int | None:
    """The top of the tree a place sits in: the island, or the heating district."""
    up, seen = parents(), set()
    while place_id is not None and up.get(place_id) is not None and place_id not in seen:
        seen.add(place_id)
        place_id = up[place_id]
    return place_id


def own_place_ids(user: User) -> frozenset[int]:
    """The places given to the user in the directory (without the places below them)."""
    return snapshot.directory().user_places.get(user.id, frozenset())


def place_ids(user: User) -> frozenset[int]:
    """The places a user covers, with every place below them."""
    return _derived(("covered", user.id), lambda: below(own_place_ids(user)))


def sees_everything(user: User) -> bool:
    """Administrators, and leads of the whole district (a lead with no places of their own)."""
    return user.role is Role.ADMIN or (user.role is Role.LEAD and not own_place_ids(user))


def is_lead(user: User) -> bool:
    return user.role is Role.LEAD


def covers(user: User, place_id: int | None) -> bool:
    """Whether the place is one the user answers for (every place, for those who see everything)."""
    return sees_everything(user) or (place_id is not None and place_id in place_ids(user))


def places_condition(user: User, column) -> sa.ColumnElement[bool]:
    """``column`` (a place id) is one the user covers, in SQL."""
    if sees_everything(user):
        return sa.true()
    ids = place_ids(user)
    return column.in_(ids) if ids else sa.false()


def areas(user: User) -> frozenset[int]:
    """The trees (the island, the heating district) the user works in: where their places are, and where
    their service point is."""
    def work() -> frozenset[int]:
        directory = snapshot.directory()
        places = set(own_place_ids(user))
        if (point := directory.points.get(user.service_point_id)) is not None:
            places.add(point.place_id)
        places.update(directory.team_places.get(user.team_id, ()))
        return frozenset(root for root in map(root_of, places) if root is not None)
    return _derived(("areas", user.id, user.service_point_id, user.team_id), work)
