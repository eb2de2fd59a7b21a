"""The portal's pages by role, for the navigation bar and the home page.

An entry appears only when its endpoint exists, so a page shows up in the menus the moment its
area is registered, and never before.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from portal.models import Role

ALL = frozenset(Role)


@dataclass(frozen=True)
class Entry:
    endpoint: str
    label: object
    description: object
    roles: frozenset
    in_nav: bool = True
    kwargs: tuple = ()

    @property
    def url(self) -> str:
        return url_for(self.endpoint, **dict(self.kwargs))


ENTRIES: list[Entry] = []


def register(endpoint: str, label, description, roles, in_nav: bool = True, **kwargs) -> None:
    """Add a page to the menus of ``roles`` (called by each area when it is imported)."""
    ENTRIES.append(Entry(endpoint, label, description, frozenset(roles), in_nav, tuple(sorted(kwargs.items()))))


def entries_for(user) -> list[Entry]:
    if not getattr(user, "is_authenticated", False):
        return []
    views = current_app.view_functions
    return [e for e in ENTRIES if user.role in e.roles and e.endpoint in views]


register("directory.index", _l("Directory"), _l("Users, service points, places, service items and teams."),
         {Role.ADMIN})
