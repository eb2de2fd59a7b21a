"""Factories for tests: rows with sensible defaults, committed, returned with their columns loaded.

Called inside an application context (service tests) they share that context's session; called
outside one (route tests) they push a context of their own, so the rows they return are detached
but keep their column values (``.id``, ``.username``, ``.number``...).
"""
from __future__ import annotations

import itertools

import sqlalchemy as sa

from portal.domain.platform import accounts
from portal.extensions import db
from portal.models import (
    Household,
    Mode,
    Place,
    PlaceKind,
    PointKind,
    Resident,
    Role,
    ServiceItem,
    ServicePoint,
    Team,
    User,
)
from tests.conftest import PASSWORD, context_of

_serial = itertools.count(1)


class Factory:
    def __init__(self, app):
        self.app = app
        self._password_hash = None

    def _save(self, obj):
        with context_of(self.app):
            db.session.add(obj)
            db.session.commit()
            db.session.refresh(obj)
            return obj

    def get(self, model, **where):
        """Load one row by its columns (for rows the demo directory made)."""
        with context_of(self.app):
            return db.session.scalars(sa.select(model).filter_by(**where)).one()

    def directory(self) -> None:
        """Load the demo directory: places, service points, teams and the 41-item catalog."""
        from portal.demo import load_directory

        with context_of(self.app):
            load_directory()
            db.session.commit()

    def point(self, code=None, kind=PointKind.POST, **fields) -> ServicePoint:
        code = code or f"SP{next(_serial)}"
        fields.setdefault("name_zh", f"站点{code}")
        return self._save(ServicePoint(code=code, kind=kind, **fields))

    def place(self, code=None, kind=PlaceKind.HAMLET, **fields) -> Place:
        code = code or f"PL{next(_serial)}"
        fields.setdefault("name_zh", f"地点{code}")
        return self._save(Place(code=code, kind=kind, **fields))

    def item(self, code=None, mode=Mode.COUNTER, **fields) -> ServiceItem:
        code = code or f"IT{next(_serial)}"
        fields.setdefault("name_zh", f"事项{code}")
        fields.setdefault("category_zh", "便民服务")
        fields.setdefault("sla_hours", 24)
        return self._save(ServiceItem(code=code, mode=mode, **fields))

    def team(self, code=None, places=(), **fields) -> Team:
        code = code or f"T{next(_serial)}"
        fields.setdefault("name_zh", f"服务队{code}")
        with context_of(self.app):
            team = Team(code=code, places=[db.session.merge(p) for p in places], **fields)
            return self._save(team)

    def user(self, role=Role.STAFF, username=None, places=(), password=PASSWORD, **fields) -> User:
        username = username or f"{role.value}{next(_serial)}"
        fields.setdefault("display_name", f"用户{username}")
        with context_of(self.app):
            if password == PASSWORD:
                if self._password_hash is None:
                    self._password_hash = accounts.hash_password(PASSWORD)
                password_hash = self._password_hash
            else:
                password_hash = accounts.hash_password(password)
            user = User(username=username, role=role, password_hash=password_hash,
                        places=[db.session.merge(p) for p in places], **fields)
            return self._save(user)

    def household(self, place, address=None, phone="13800001111", residents=("张三",), **fields) -> Household:
        with context_of(self.app):
            number = next(_serial)
            household = Household(code=f"HH{number}", place_id=place.id, address=address or f"测试路{number}号",
                                  phone=phone, **fields)
            for name in residents:
                household.residents.append(Resident(name=name, phone=phone))
            return self._save(household)

    def cases(self, count: int, item, place, point, status=None, owner=None, **fields) -> list[int]:
        """Insert ``count`` cases at once (for lists and query budgets), each with its first event."""
        from portal import clock
        from portal.models import Case, CaseEvent, CaseStatus, Channel, EventKind

        status = status or CaseStatus.LOGGED
        with context_of(self.app):
            now = clock.now()
            rows = []
            for _ in range(count):
                serial = next(_serial)
                values = dict(number=f"TS-{serial:08d}", item_id=item.id, place_id=place.id, service_point_id=point.id,
                              requester_name=f"居民{serial}", requester_phone=f"139{serial:08d}", channel=Channel.PHONE,
                              description="批量测试", mode=item.mode, status=status,
                              owner_id=owner.id if owner else None, created_at=now, updated_at=now, due_at=now,
                              redo_count=0, transfer_count=0)
                case = Case(**{**values, **fields})
                case.events = [CaseEvent(kind=EventKind.LOGGED, to_status=CaseStatus.LOGGED, public=True, at=now)]
                rows.append(case)
            db.session.add_all(rows)
            db.session.commit()
            return [case.id for case in rows]
