"""API keys of the kiosks and systems that log cases through Open311: created and revoked by admins
(in the directory or with ``flask api-key``), kept as SHA-256 hashes, shown once."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import DomainError
from portal.domain.platform import audit, snapshot, unit
from portal.domain.platform.text import typed
from portal.extensions import db
from portal.models import ApiKey, Channel, ServicePoint, User

PREFIX = "p311_"
CHANNELS = (Channel.KIOSK, Channel.WECHAT)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(actor: User | None, point: ServicePoint | None, name: str, channel: Channel = Channel.KIOSK,
           actor_name: str = "") -> tuple[ApiKey, str]:
    """A new key for a kiosk or system at ``point``; return it and the secret (shown only now)."""
    name = typed(name, "name", 60, required=_l("Name the kiosk or system, for example 'kiosk-1'."))
    if point is None or not point.active:
        raise DomainError(_l("Choose the service point its cases go to."), field="point")
    if channel not in CHANNELS:
        raise DomainError(_l("A key logs cases as a kiosk or as WeChat."), field="channel")
    if db.session.scalar(sa.select(ApiKey.id).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))):
        raise DomainError(_l("A key named %(name)s is in use already; revoke it first or choose another name.",
                             name=name), field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, service_point=point, channel=channel, prefix=secret[:12], key_hash=_hash(secret),
                 created_by=actor, created_at=clock.now())
    db.session.add(key)
    db.session.flush()
    audit.record("create", actor=actor, obj=key, actor_name=actor_name, reason=f"{point.code} {channel.value}")
    unit.end_step()
    return key, secret


def revoke(actor: User | None, key: ApiKey, actor_name: str = "") -> None:
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        audit.record("revoke", actor=actor, obj=key, actor_name=actor_name)
        unit.end_step()


def authenticate(secret: str | None) -> ApiKey | None:
    """The key ``secret`` names, unless it is unknown or revoked."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    row = db.session.execute(sa.select(ApiKey, *snapshot.STAMPS).options(joinedload(ApiKey.service_point))
                             .where(ApiKey.key_hash == _hash(secret), ApiKey.revoked_at.is_(None))).first()
    if row is None:
        return None
    snapshot.note_stamps(row[1:])  # what the worker keeps (the calendar a new case's limits need) is checked here
    return row[0]


USE_NOTED_EVERY = timedelta(minutes=1)


def in_use(key: ApiKey) -> ApiKey:
    """``key`` again in a new transaction, with its last use noted: at most once a minute, so that the cases
    a kiosk logs at once do not queue on its row."""
    key = db.session.get(ApiKey, key.id, options=[joinedload(ApiKey.service_point)])
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= USE_NOTED_EVERY:
        key.last_used_at = now
    return key


def all_keys() -> list[ApiKey]:
    return list(db.session.scalars(sa.select(ApiKey).options(joinedload(ApiKey.service_point),
                                                             joinedload(ApiKey.created_by))
                                   .order_by(ApiKey.revoked_at.is_not(None), ApiKey.name)))
