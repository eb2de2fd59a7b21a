"""Keeping the directory: users, service points, places, service items, teams, the holiday calendar
and canned replies.

Every save checks uniqueness, writes one audit row with the changed fields, and commits. Nothing is
ever deleted: rows with history are deactivated instead.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.domain import DomainError
from portal.domain.platform import accounts, audit, unit
from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    CalendarDay,
    Case,
    Office,
    Place,
    PlaceKind,
    Role,
    ServiceItem,
    ServicePoint,
    Team,
    User,
)

UNIQUE_FIELDS = {User: "username", ServicePoint: "code", Place: "code", ServiceItem: "code", Team: "code",
                 Office: "code"}


def pinyin_index(*texts: str) -> str:
    """Return the pinyin initials and the full pinyin of each text, for search as you type (kept in
    ``ServiceItem.pinyin`` when an item is saved)."""
    # Imported here: its dictionaries take some 50 MB, which a worker serving pages never needs.
    from pypinyin import Style, lazy_pinyin

    words: list[str] = []
    for text in texts:
        for phrase in text.split():
            initials = "".join(lazy_pinyin(phrase, style=Style.FIRST_LETTER, errors="ignore"))
            full = "".join(lazy_pinyin(phrase, errors="ignore"))
            words.extend(w.lower() for w in (initials, full) if w)
    return " ".join(dict.fromkeys(words))


def _check_unique(model, obj, values: dict[str, Any]) -> None:
    field = UNIQUE_FIELDS.get(model)
    if field is None:
        return
    value = values.get(field)
    if value is None:
        return
    query = sa.select(model.id).where(getattr(model, field) == value)
    if obj is not None:
        query = query.where(model.id != obj.id)
    if db.session.scalar(query) is not None:
        raise DomainError(_l("“%(value)s” is already in use; choose another.", value=value), field=field)


def _check_parent(place: Place | None, parent_id: int | None) -> None:
    """A place may not sit inside itself, directly or through its children."""
    if place is None or parent_id is None:
        return
    parents = dict(db.session.execute(sa.select(Place.id, Place.parent_id)).all())
    seen, current = set(), parent_id
    while current is not None and current not in seen:
        if current == place.id:
            raise DomainError(_l("A place cannot be part of itself or of a place inside it."), field="parent_id")
        seen.add(current)
        current = parents.get(current)


def _check_day(obj, values: dict[str, Any]) -> None:
    query = sa.select(CalendarDay.id).where(CalendarDay.day == values["day"],
                                           CalendarDay.service_point_id.is_(values["service_point_id"])
                                           if values["service_point_id"] is None
                                           else CalendarDay.service_point_id == values["service_point_id"])
    if obj is not None:
        query = query.where(CalendarDay.id != obj.id)
    if db.session.scalar(query) is not None:
        raise DomainError(_l("This date is already in the calendar; edit that entry instead."), field="day")


def _check_one_butler(obj, values: dict[str, Any]) -> None:
    """Each estate has one butler: refuse an estate another active butler already covers."""
    if values.get("role", getattr(obj, "role", None)) is not Role.BUTLER:
        return
    for place in values.get("places", []):
        if place.kind is not PlaceKind.ESTATE:
            continue
        other = db.session.scalars(sa.select(User).where(
            User.role == Role.BUTLER, User.active, User.places.any(Place.id == place.id),
            User.id != (obj.id if obj is not None else 0))).first()
        if other is not None:
            raise DomainError(_l("%(estate)s already has a butler: %(name)s. Take it from them first.",
                                 estate=place.name_zh, name=other.display_name), field="place_ids")


def save(model, obj, values: dict[str, Any], actor: User):
    """Create (``obj`` None) or update a directory row from validated form values."""
    _check_unique(model, obj, values)
    if model is User:
        _check_one_butler(obj, values)
        _check_places_removed(obj, values, values.pop("confirm_places", False))
    if model is CalendarDay:
        _check_day(obj, values)
    if model is Place:
        _check_parent(obj, values.get("parent_id"))
    if model is ServiceItem:
        values["pinyin"] = pinyin_index(values.get("name_zh", obj.name_zh if obj else ""), values.get("keywords", ""))
    password = values.pop("password", None) if model is User else None
    if obj is None:
        if model is User:
            if not password:
                raise DomainError(_l("Give the new user a first password."), field="password")
            _check_password(password, values.get("username", ""))
            values["password_hash"] = accounts.hash_password(password)
        obj = model(**values)
        db.session.add(obj)
        db.session.flush()
        changes = {k: (None, v) for k, v in values.items() if k != "password_hash"}
        audit.record("create", actor=actor, obj=obj, changes=changes)
    else:
        changes = audit.apply_changes(obj, values)
        if password:
            _check_password(password, obj.username)
            obj.password_hash = accounts.hash_password(password)
            changes["password"] = ("***", "***")
            accounts.end_sessions(obj, actor, "password reset by an administrator")
        if changes:
            audit.record("update", actor=actor, obj=obj, changes=changes)
    unit.end_step()
    return obj


def _check_places_removed(user: User | None, values: dict, confirmed: bool) -> None:
    """Taking places from someone who works cases there is confirmed first: their open cases there stay
    theirs, but the places' new cases no longer reach them."""
    if user is None or "places" not in values or confirmed:
        return
    removed = [p for p in user.places if p not in values["places"]]
    if not removed:
        return
    open_cases = dict(db.session.execute(
        sa.select(Case.place_id, sa.func.count()).where(Case.place_id.in_([p.id for p in removed]),
                                                        Case.status.in_(OPEN_STATUSES))
        .group_by(Case.place_id)).all())
    busy = [f"{p.name_zh}（{open_cases[p.id]}）" for p in removed if open_cases.get(p.id)]
    if busy:
        raise DomainError(_l("This removes %(places)s, which have open cases (in brackets). Tick the box below "
                             "to confirm, or choose the places again.", places="、".join(busy)), field="place_ids")


def _check_password(password: str, username: str) -> None:
    problem = accounts.password_problem(password, username)
    if problem:
        raise DomainError(problem, field="password")


def set_active(obj, active: bool, actor: User) -> None:
    """Activate or deactivate a row; a deactivated user is signed out everywhere at once."""
    if isinstance(obj, User) and obj.id == actor.id and not active:
        raise DomainError(_l("You cannot deactivate your own account."))
    if obj.active == active:
        return
    audit.record("activate" if active else "deactivate", actor=actor, obj=obj,
                 changes={"active": (obj.active, active)})
    obj.active = active
    if isinstance(obj, User) and not active:
        accounts.end_sessions(obj, actor, "account deactivated")
    unit.end_step()


def end_sessions(user: User, actor: User) -> None:
    """Sign a user out of every device (an administrator's action)."""
    accounts.end_sessions(user, actor, "ended by an administrator")
    unit.end_step()
