"""Keeping the directory: users, service points, places, service items, teams and canned replies.

Every save checks uniqueness, writes one audit row with the changed fields, and commits. Nothing is
ever deleted: rows with history are deactivated instead.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from pypinyin import Style, lazy_pinyin

from portal.domain import DomainError, accounts, audit
from portal.extensions import db
from portal.models import Place, ServiceItem, ServicePoint, Team, User

UNIQUE_FIELDS = {User: "username", ServicePoint: "code", Place: "code", ServiceItem: "code", Team: "code"}


def pinyin_index(*texts: str) -> str:
    """Return the pinyin initials and the full pinyin of each text, for search as you type."""
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


def save(model, obj, values: dict[str, Any], actor: User):
    """Create (``obj`` None) or update a directory row from validated form values."""
    _check_unique(model, obj, values)
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
    db.session.commit()
    return obj


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
    db.session.commit()


def end_sessions(user: User, actor: User) -> None:
    """Sign a user out of every device (an administrator's action)."""
    accounts.end_sessions(user, actor, "ended by an administrator")
    db.session.commit()
