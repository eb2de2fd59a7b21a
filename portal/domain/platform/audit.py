"""Writing the audit log: one row per change, in the caller's transaction.

The web layer tells this module the client's address for the current request (``bind_address``);
service functions pass the acting user. The log says who did what to which object, when and from where;
it keeps no resident's personal data in clear: phones and ID numbers are masked, residents' names and
addresses too, and phones or ID numbers typed into a reason. What people type about a case (notes,
reasons) lives on the case's timeline, where ``retention`` clears it in time; the log only says that it
was written. So the log, which nothing may change, needs no clearing of its own.
"""
from __future__ import annotations

import contextvars
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from portal import clock
from portal.domain.platform import privacy, unit
from portal.extensions import db
from portal.models import AuditEntry

_address: contextvars.ContextVar[str] = contextvars.ContextVar("audit_address", default="")

# Fields whose values never reach the log in full.
_PHONE_FIELDS = {"phone", "phone2", "requester_phone"}
_ID_FIELDS = {"id_number"}
_SECRET_FIELDS = {"password", "password_hash", "key_hash", "token", "calendar_token"}
# A resident's name, address and free-text fields, by the table whose rows the change is about.
_PERSONAL = {
    "cases": {"requester_name": privacy.mask_name, "address": privacy.mask_address,
              "description": lambda text: f"({len(text)})"},
    "residents": {"name": privacy.mask_name},
    "households": {"address": privacy.mask_address, "notes": lambda text: f"({len(text)})"},
}


def bind_address(address: str) -> contextvars.Token:
    return _address.set(address or "")


def unbind_address(token: contextvars.Token) -> None:
    _address.reset(token)


def current_address() -> str:
    return _address.get()


def _masked(field: str, value: Any, object_type: str = "") -> Any:
    if value is None:
        return None
    personal = _PERSONAL.get(object_type, {}).get(field)
    if personal is not None:
        return personal(str(value))
    if field in _SECRET_FIELDS:
        return "***"
    if field in _PHONE_FIELDS:
        return privacy.mask_phone(str(value))
    if field in _ID_FIELDS:
        return privacy.mask_id_number(str(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return [getattr(v, "code", None) or str(v) for v in value]
    if isinstance(value, str):
        return str(value)  # an enum member becomes its stored value
    if isinstance(value, (int, float, bool)):
        return value
    return getattr(value, "code", None) or str(value)


def entry(
    action: str,
    actor=None,
    obj=None,
    *,
    object_type: str = "",
    object_id: str | int = "",
    changes: dict[str, tuple[Any, Any]] | None = None,
    reason: str = "",
    actor_name: str = "",
) -> dict[str, Any]:
    """The values of an audit row: who, from where, what object, which fields (masked) and why."""
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        object_id = object_id or getattr(obj, "id", "") or ""
    return {
        "at": clock.now(),
        "actor_id": getattr(actor, "id", None),
        "actor_name": actor_name or getattr(actor, "username", "") or "",
        "address": current_address(),
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "changes": (
            {field: [_masked(field, old, object_type), _masked(field, new, object_type)]
             for field, (old, new) in changes.items()}
            if changes
            else None
        ),
        "reason": privacy.mask_text(str(reason or "")),
    }


def record(action: str, actor=None, obj=None, **fields) -> None:
    """Write an audit row in the caller's transaction (a Core INSERT: ``unit.write``); its commit keeps it with
    the change, its rollback drops it."""
    unit.write(_INSERT, entry(action, actor, obj, **fields))


_INSERT = sa.insert(AuditEntry.__table__)


def record_many(entries: list[dict[str, Any]]) -> None:
    """Insert many audit rows (made by ``entry``) at once, in the caller's transaction."""
    for start in range(0, len(entries), 5000):
        db.session.execute(sa.insert(AuditEntry), entries[start:start + 5000])


def apply_changes(obj, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set attributes on ``obj`` and return ``{field: (old, new)}`` for those that changed."""
    changed: dict[str, tuple[Any, Any]] = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if _comparable(old) != _comparable(new):
            changed[field] = (old, new)
            setattr(obj, field, new)
    return changed


def _comparable(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(getattr(v, "id", v) for v in value)
    return value


def record_alone(action: str, actor=None, **fields) -> None:
    """Write an audit row in a transaction of its own (a refusal or a reveal, where nothing else
    changes), also from a GET request whose transaction began as a read."""
    unit.lasting(lambda: record(action, actor, **fields))


# --- searching -----------------------------------------------------------------------------------------

def search(q: str = "", action: str = "", object_type: str = "", first=None, last=None):
    """A query for audit rows, newest first: ``q`` matches the actor, the object id, the address or the
    reason; ``first`` and ``last`` are local dates, inclusive."""

    query = sa.select(AuditEntry)
    if q:
        query = query.where(sa.or_(AuditEntry.actor_name.icontains(q, autoescape=True), AuditEntry.object_id == q,
                                   AuditEntry.address == q, AuditEntry.reason.icontains(q, autoescape=True)))
    if action:
        query = query.where(AuditEntry.action == action)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if first:
        query = query.where(AuditEntry.at >= clock.local_midnight(first))
    if last:
        query = query.where(AuditEntry.at < clock.local_midnight(last) + timedelta(days=1))
    return query.order_by(AuditEntry.id.desc())


def kinds() -> tuple[list[str], list[str]]:
    """The actions and object types the log holds, for the search form."""
    actions = db.session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    types = db.session.scalars(sa.select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)).all()
    return list(actions), [t for t in types if t]
