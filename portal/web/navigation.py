"""The portal's pages by role, for the navigation bar and the home page.

An entry appears only when its endpoint exists, so a page shows up in the menus the moment its
area is registered, and never before.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from portal.domain import access
from portal.models import Role
from portal.web.guards import admits

ALL = frozenset(Role)


@dataclass(frozen=True)
class Entry:
    endpoint: str
    label: object
    description: object
    roles: frozenset
    in_nav: bool = True
    kwargs: tuple = ()
    when: str | None = None  # a rule of the access policy the user must also pass ("heating.desk")
    rank: int = 50  # menus list pages by rank, then in the order they were registered

    @property
    def url(self) -> str:
        return url_for(self.endpoint, **dict(self.kwargs))


ENTRIES: list[Entry] = []


def register(endpoint: str, label, description, roles, in_nav: bool = True, when: str | None = None,
             rank: int = 50, **kwargs) -> None:
    """Add a page to the menus of ``roles``, and of those of them who pass the access rule ``when`` (called by
    each area when it is imported): a menu never offers a page that would refuse its user."""
    ENTRIES.append(Entry(endpoint, label, description, frozenset(roles), in_nav, tuple(sorted(kwargs.items())), when,
                         rank))
    ENTRIES.sort(key=lambda entry: entry.rank)  # stable: equal ranks keep their order


def entries_for(user) -> list[Entry]:
    if not getattr(user, "is_authenticated", False):
        return []
    views = current_app.view_functions
    return [e for e in ENTRIES if admits(e.roles, user) and e.endpoint in views
            and (e.when is None or access.can(user, e.when))]


register("directory.index", _l("Directory"), _l("Users, service points, places, service items and teams."),
         {Role.ADMIN})
