"""The mechanism every rule shares: a registry of named rules, and the ways to ask them.

A rule is a name (``"case.claim"``, ``"station.run"``), a test on one object and, where lists need it,
the same rule as an SQL condition on the object's table. ``can`` answers yes or no; ``require`` raises
(``NotFound`` where the user may not even know that the object exists, ``Forbidden`` otherwise); ``scope``
gives the SQL condition; ``load`` fetches an object by id and answers 404 unless the user may see it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.domain import Forbidden, NotFound
from portal.domain.platform import audit
from portal.extensions import db

NOT_YOURS = _l("There is no such page, or it is not yours to see.")


@dataclass(frozen=True)
class Rule:
    """One thing a user may or may not do. ``model`` is the kind of object it is asked about (None for a
    rule about the user alone); ``sql`` gives the same rule for a whole table, for lists and counts;
    ``reads`` marks the rule that says whether the user may see an object of ``model`` at all: any rule
    refused on an object the user may not see is answered as if the object did not exist (404)."""

    name: str
    check: Callable[..., bool]
    model: type | None = None
    sql: Callable[..., sa.ColumnElement[bool]] | None = None
    reads: bool = False


RULES: dict[str, Rule] = {}
# The rule that says who may see an object of each kind (the one registered with ``reads=True``).
VIEWS: dict[type, str] = {}


def rule(name: str, model: type | None = None, sql: Callable | None = None, reads: bool = False):
    """Register the decorated function as the one-object form of rule ``name``."""
    def register(check: Callable[..., bool]) -> Callable[..., bool]:
        if name in RULES:
            raise ValueError(f"rule {name} is defined twice")
        if reads and model in VIEWS:
            raise ValueError(f"{model.__name__} is seen by {VIEWS[model]} already")
        RULES[name] = Rule(name, check, model, sql, reads)
        if reads:
            VIEWS[model] = name
        return check
    return register


def can(user, name: str, obj: Any = None) -> bool:
    """Whether ``user`` may do ``name`` (to ``obj``). Someone not signed in may do nothing."""
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    check = RULES[name].check
    return bool(check(user) if obj is None and RULES[name].model is None else check(user, obj))


def require(user, name: str, obj: Any = None, message=None) -> None:
    """Raise unless ``user`` may do ``name``: NotFound (and an audit row) when the user may not even see
    ``obj``, Forbidden when they see it but may not do this to it."""
    if can(user, name, obj):
        return
    view = VIEWS.get(type(obj))
    if view is not None and (view == name or not can(user, view, obj)):
        refuse_read(user, obj)
    raise Forbidden(message or _l("You may not do this."))


def scope(user, name: str) -> sa.ColumnElement[bool]:
    """The SQL condition of rule ``name`` for ``user`` (on its model's table)."""
    found = RULES[name]
    if found.sql is None:
        raise ValueError(f"rule {name} has no SQL form")
    return found.sql(user)


def refuse_read(user, obj) -> None:
    """Audit a read that is refused, and answer as if the object did not exist."""
    audit.record_alone("denied", actor=user, object_type=getattr(obj, "__tablename__", ""),
                       object_id=getattr(obj, "id", "") or "", reason="read")
    raise NotFound(NOT_YOURS)


def load(user, model: type, object_id: int | None, name: str | None = None, options=()):
    """The ``model`` row with this id if ``user`` may ``name`` it (by default: see it); otherwise NotFound
    (as if it did not exist) or Forbidden, as ``require`` says."""
    obj = db.session.get(model, object_id, options=options) if object_id is not None else None
    if obj is None:
        raise NotFound(NOT_YOURS)
    require(user, name or VIEWS[model], obj)
    return obj
