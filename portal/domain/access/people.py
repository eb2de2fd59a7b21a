"""Who a user is, as the rules need it: whether they see the whole district, and which places they cover.

A user covers the places they are given in the directory and every place below them (a village brings its
hamlets). An administrator, and a lead with no places (a district leader), see the whole district; a lead
with places (a station head, the island centre's director) answers for those places only.

The place tree and each user's places are worked out once per database session (one request), and
forgotten as soon as a place or a user's places change in that session.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Place, Role, ServicePoint, User, team_places, user_places

# Roles that work cases (everyone but the administrator).
WORKERS = frozenset({Role.STAFF, Role.PROXY, Role.TEAM, Role.BUTLER, Role.LEAD})
_CACHE = "access"


def _cache() -> dict:
    return db.session.info.setdefault(_CACHE, {})


def forget() -> None:
    """Drop what was worked out (the place tree changed, or someone's places did)."""
    db.session.info.pop(_CACHE, None)


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _forget_on_change(session, _context, _instances) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, (Place, User)) for obj in changed):
        session.info.pop(_CACHE, None)


def children() -> dict[int | None, list[int]]:
    """Place ids under each place id (active or not: a deactivated hamlet's old cases still count)."""
    cache = _cache()
    if "children" not in cache:
        tree: dict[int | None, list[int]] = {}
        for place_id, parent_id in db.session.execute(sa.select(Place.id, Place.parent_id)):
            tree.setdefault(parent_id, []).append(place_id)
        cache["children"] = tree
    return cache["children"]


def parents() -> dict[int, int | None]:
    cache = _cache()
    if "parents" not in cache:
        cache["parents"] = {child: parent for parent, kids in children().items() for child in kids}
    return cache["parents"]


def served_by() -> dict[int, int | None]:
    """The service point serving each place."""
    cache = _cache()
    if "served_by" not in cache:
        cache["served_by"] = dict(db.session.execute(sa.select(Place.id, Place.service_point_id)).all())
    return cache["served_by"]


def place_by_code() -> dict[str, int]:
    cache = _cache()
    if "codes" not in cache:
        cache["codes"] = dict(db.session.execute(sa.select(Place.code, Place.id)).all())
    return cache["codes"]


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
    cache = _cache().setdefault("own", {})
    if user.id not in cache:
        cache[user.id] = frozenset(db.session.scalars(
            sa.select(user_places.c.place_id).where(user_places.c.user_id == user.id)))
    return cache[user.id]


def place_ids(user: User) -> frozenset[int]:
    """The places a user covers, with every place below them."""
    cache = _cache().setdefault("covered", {})
    if user.id not in cache:
        cache[user.id] = below(own_place_ids(user))
    return cache[user.id]


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
    cache = _cache().setdefault("areas", {})
    if user.id not in cache:
        places = set(own_place_ids(user))
        if user.service_point_id is not None:
            places.add(db.session.scalar(sa.select(ServicePoint.place_id).where(ServicePoint.id == user.service_point_id)))
        if user.team_id is not None:
            places.update(db.session.scalars(sa.select(team_places.c.place_id)
                                             .where(team_places.c.team_id == user.team_id)))
        cache[user.id] = frozenset(root for root in map(root_of, places) if root is not None)
    return cache[user.id]
