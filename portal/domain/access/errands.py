"""Errands: the most a proxy holds at once, who carries the documents.

A proxy takes a new errand from the pool only while holding fewer than ``ERRAND_LIMIT`` open ones, so
the load is shared; the proxy's row is held while counting, so two claims at the same moment count one
after the other. Documents are handed over by whoever works the errand (its scans and photos are a case's
photos and files: ``access.cases``).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.domain import DomainError
from portal.domain.access.attendance import may_record as on_island_staff
from portal.domain.access.people import point_of
from portal.domain.access.policy import rule
from portal.extensions import db
from portal.models import Case, CaseStatus, Mode, PointKind, Role, User

HELD = (CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS, CaseStatus.AWAITING_OFFICE)


def limit() -> int:
    return int(current_app.config["ERRAND_LIMIT"])


def open_errands(user: User) -> int:
    """How many open errands a proxy holds now."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Case).where(
            Case.owner_id == user.id, Case.mode == Mode.ERRAND, Case.status.in_(HELD))
    ) or 0


def check_limit(case: Case, user: User) -> None:
    """Refuse a proxy a new errand from the pool once they hold ``ERRAND_LIMIT`` open ones."""
    if user.role is not Role.PROXY or case.mode is not Mode.ERRAND or case.owner_id is not None:
        return
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    if open_errands(user) >= limit():
        raise DomainError(_l("You already hold %(n)d open errands; finish some first so that the load is shared.",
                             n=limit()))


@rule("errand.hand_in_all")
def may_hand_in_all(user: User) -> bool:
    """Hand in every ready errand of the manifest at once: the proxies who carry them."""
    return user.role is Role.PROXY


@rule("errands.pool")
def has_pool(user: User) -> bool:
    """The pool of errands to carry off the island: proxies, leads, and the island's staff (who carry errands
    on the off-island days of the "3+2" week too)."""
    return user.role in (Role.PROXY, Role.LEAD) or on_island_staff(user)


@rule("errands.manifest")
def has_manifest(user: User) -> bool:
    """The off-island manifest: proxies, and the staff and leads of the island's points and of the off-island hall
    (a district lead too); the heating district's people (a station's staff and head, its butlers) carry nothing off
    the island: their errands are on no manifest."""
    if user.role in (Role.STAFF, Role.LEAD):
        point = point_of(user)
        return point is None or point.kind is not PointKind.HEATING_STATION
    return user.role is Role.PROXY
