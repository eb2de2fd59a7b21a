"""Wall screens: the address that lets a screen in a hall show one board's wall view without anyone signed
in on it. The address holds a random token, of which only the SHA-256 is kept; revoking it stops the
screen at its next poll."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import DomainError, access
from portal.domain.boards.scopes import Scope
from portal.domain.platform import audit, unit
from portal.extensions import db
from portal.models import User, WallScreen


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_screen(actor: User, name: str, scope: Scope) -> tuple[WallScreen, str]:
    """Let a wall screen show ``scope``'s wall view; return it and the token of its address (shown once)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Name the screen, for example 'Service center, hall'."), field="name")
    if not scope.kind.wall:
        raise DomainError(_l("Wall screens show the district or a place."))
    access.require(actor, "screen.manage")
    access.require(actor, "board.view", scope, _l("You may not show this board."))
    token = secrets.token_urlsafe(24)
    screen = WallScreen(name=name[:60], scope_kind=scope.kind.key, scope_code=scope.code, token_hash=_token_hash(token),
                        created_by=actor, created_at=clock.now())
    db.session.add(screen)
    db.session.flush()
    audit.record("create", actor=actor, obj=screen, reason=f"{scope.kind.key}:{scope.code}")
    unit.end_step()
    return screen, token


def revoke_screen(actor: User, screen: WallScreen) -> None:
    access.require(actor, "screen.revoke", screen)
    if screen.revoked_at is None:
        screen.revoked_at = clock.now()
        audit.record("revoke", actor=actor, obj=screen)
        unit.end_step()


def screen_for(token: str) -> WallScreen | None:
    """The screen a wall address opens, unless it was revoked."""
    if not token or len(token) > 64:
        return None
    return db.session.scalars(sa.select(WallScreen).where(WallScreen.token_hash == _token_hash(token),
                                                          WallScreen.revoked_at.is_(None))).first()


def screens(user: User) -> list[WallScreen]:
    """The screens of the boards ``user`` sees, those still showing first."""
    rows = db.session.scalars(sa.select(WallScreen).options(joinedload(WallScreen.created_by))
                              .order_by(WallScreen.revoked_at.is_not(None), WallScreen.created_at.desc()))
    return [screen for screen in rows if access.can(user, "screen.revoke", screen)]


def seen(screen: WallScreen) -> None:
    """Note that the screen is showing (at most every ten minutes, so that polls do not all write)."""
    now = clock.now()
    if screen.last_seen_at is None or now - screen.last_seen_at > timedelta(minutes=10):
        screen_id = screen.id  # the poll only read: the note is a write of its own, with the lock up front
        unit.alone(lambda: db.session.execute(sa.update(WallScreen).where(WallScreen.id == screen_id)
                                              .values(last_seen_at=now)))

