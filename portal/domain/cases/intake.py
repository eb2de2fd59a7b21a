"""Intake (登记受理): finding the item and the caller, and logging a new case.

A case gets its number (``LS-20261128-0001``: the point's prefix, the local day, a sequence) from a
counter row updated in the same transaction as the case, so numbers are unique and gapless per day
on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.domain import DomainError, Forbidden, access
from portal.domain.boards import counters
from portal.domain.cases import lifecycle, messages, timekeeping
from portal.domain.cases.timeline import record_event
from portal.domain.platform import audit, privacy, unit
from portal.domain.platform.text import typed
from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    Case,
    CaseMaterial,
    CaseNumberCounter,
    CaseStatus,
    Channel,
    EventKind,
    Household,
    Mode,
    Place,
    Priority,
    Resident,
    Role,
    ServiceItem,
    ServicePoint,
    Team,
    User,
    team_places,
)

RECENT_CASES = 5
# A case of the same place and category logged this many days back may be the same matter (a burst pipe that
# three neighbours call about); a household's or a number's open cases are shown whenever they were logged.
DUPLICATE_DAYS = 3


def find_items(query: str, limit: int = 8) -> list[ServiceItem]:
    """Service items matching what was typed: a code, part of a name, or pinyin initials ("dbsq")."""
    text = (query or "").strip()
    if not text:
        return []
    matches = sa.or_(  # what was typed is text, never a pattern: "%" and "_" match themselves
        ServiceItem.code.istartswith(text, autoescape=True),
        ServiceItem.name_zh.contains(text, autoescape=True),
        ServiceItem.keywords.contains(text, autoescape=True),
        sa.func.lower(ServiceItem.name_en).contains(text.lower(), autoescape=True),
        ServiceItem.pinyin.contains(text.lower(), autoescape=True),
    )
    exact_code = sa.case((sa.func.upper(ServiceItem.code) == text.upper(), 0), else_=1)
    return list(
        db.session.scalars(
            sa.select(ServiceItem).where(ServiceItem.active, matches).order_by(exact_code, ServiceItem.code).limit(limit)
        )
    )


def is_code_of(item: ServiceItem, query: str | None) -> bool:
    """Whether what was typed is the item's code itself (then it is chosen without a click: offline, a code
    is all the intake form can take)."""
    return (query or "").strip().upper() == item.code.upper()


@dataclass
class Caller:
    """What the portal knows about a phone number: households, and that phone's recent cases."""

    phone: str
    households: list[Household]
    recent: list[sa.Row]  # the phone's latest cases: id, number, status, created_at and the item's names


def caller_lookup(phone: str, user: User) -> Caller:
    """Households reachable at ``phone`` that ``user`` may name on a case, and the recent cases from that
    phone that ``user`` may see. Every look-up of a whole number is audited (masked)."""
    digits = privacy.normalise_phone(phone)
    if len(digits) < 7:
        return Caller(digits, [], [])
    if privacy.is_valid_phone(digits):  # written first: it ends the request's read transaction
        audit.record_alone("caller_lookup", actor=user, object_type="households", reason=privacy.mask_phone(digits))
    households = db.session.scalars(
        sa.select(Household)
        .where(Household.active, access.households.at_phone(digits), access.households.area_condition(user))
        .options(sa.orm.selectinload(Household.residents), sa.orm.joinedload(Household.place))
        .order_by(Household.id)
        .limit(5)
    ).unique().all()
    recent = db.session.execute(  # plain rows of the columns the list shows
        sa.select(Case.id, Case.number, Case.status, Case.created_at, ServiceItem.name_zh.label("item_name_zh"),
                  ServiceItem.name_en.label("item_name_en"))
        .join(Case.item)
        .where(Case.requester_phone == digits, access.case_scope(user))
        .order_by(Case.created_at.desc())
        .limit(RECENT_CASES)
    ).all()
    return Caller(digits, list(households), list(recent))


def possible_duplicates(user: User, phone: str = "", household_id: int | None = None, place_id: int | None = None,
                        item_id: int | None = None) -> list[Case]:
    """Open cases the new one may repeat, that ``user`` may see: of the same household, from the same number, or
    of the same place and category logged in the last ``DUPLICATE_DAYS`` days; the newest five."""
    digits = privacy.normalise_phone(phone or "")
    household = db.session.get(Household, household_id) if household_id else None
    item = db.session.get(ServiceItem, item_id) if item_id else None
    place_id = place_id or (household.place_id if household else None)
    same = []
    if household is not None:
        same.append(Case.household_id == household.id)
    if privacy.is_valid_phone(digits):
        same.append(Case.requester_phone == digits)
    if place_id and item is not None:
        same.append(sa.and_(
            Case.place_id == place_id, Case.created_at >= clock.now() - timedelta(days=DUPLICATE_DAYS),
            Case.item_id.in_(sa.select(ServiceItem.id).where(ServiceItem.category_zh == item.category_zh))))
    if not same:
        return []
    return list(db.session.scalars(
        sa.select(Case).where(Case.status.in_(OPEN_STATUSES), sa.or_(*same), access.case_scope(user))
        .options(sa.orm.joinedload(Case.item), sa.orm.joinedload(Case.place))
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(5)))


def add_call(case: Case, actor: User, description: str, requester_name: str = "", phone: str = "") -> None:
    """The call being logged is about ``case``: note it there (who called, what they said) instead of logging a
    second case."""
    if not access.can(actor, "case.note", case):
        raise Forbidden(_l("You may not add notes to this case."))
    note = typed(description or "", "note")
    caller = " ".join(part for part in (requester_name.strip(), privacy.normalise_phone(phone or "")) if part)
    record_event(case, actor, EventKind.NOTE, note=note, data={"again": caller[:60]})
    case.updated_at = clock.now()
    audit.record("note", actor=actor, obj=case, reason="again")
    unit.end_step()


def usual_channel(user: User) -> Channel:
    """How cases logged by ``user`` usually arrive: butlers take calls; a station's staff, walk-ins."""
    return Channel.PHONE if user.role is Role.BUTLER else Channel.COUNTER


def next_number(point: ServicePoint, at: datetime) -> str:
    """Take the next case number of ``point``'s prefix for the local day of ``at``."""
    day = clock.local(at).date()
    last = unit.write(_take_number(db.session.get_bind().dialect.name),
                      {"prefix": point.case_prefix, "day": day}).scalar_one()
    return f"{point.case_prefix}-{day:%Y%m%d}-{last:04d}"


@functools.cache
def _take_number(dialect: str) -> sa.Insert:
    """The counter row's upsert (made once a dialect)."""
    table = CaseNumberCounter.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(table).values(prefix=sa.bindparam("prefix"), day=sa.bindparam("day"), last=1)
            .on_conflict_do_update(index_elements=["prefix", "day"], set_={"last": table.c.last + 1})
            .returning(table.c.last))


def _id(row) -> int | None:
    return row.id if row is not None else None


def _upwards(place: Place | None):
    """The place and the places it is part of, nearest first (stopping at a loop, should one exist)."""
    seen = set()
    while place is not None and place.id not in seen:
        seen.add(place.id)
        yield place
        place = place.parent


def team_for(place: Place | None) -> Team | None:
    """The on-site team that covers ``place`` (or the hamlet it is part of)."""
    for candidate in _upwards(place):
        team = db.session.scalars(
            sa.select(Team).join(team_places).where(team_places.c.place_id == candidate.id, Team.active).limit(1)
        ).first()
        if team:
            return team
    return None


def responsible_point(mode: Mode, place: Place | None, actor: User | None) -> ServicePoint | None:
    """Counter items stay where they were logged; errands and visits go to the place's point."""
    own = actor.service_point if actor is not None else None
    if mode is Mode.COUNTER and own is not None:
        return own
    for candidate in _upwards(place):
        if candidate.service_point is not None:
            return candidate.service_point
    return own


@unit.transactional
def log_case(
    actor: User | None,
    item: ServiceItem,
    channel: Channel,
    description: str,
    requester_name: str,
    requester_phone: str,
    household: Household | None = None,
    resident: Resident | None = None,
    place: Place | None = None,
    address: str = "",
    mode: Mode | None = None,
    point: ServicePoint | None = None,
    actor_label: str = "",
    finish_on_spot: bool = False,
    origin: Case | None = None,
    phone_optional: bool = False,
    proactive: bool = False,
    receipt: bool = True,
) -> Case:
    """Log a new case and commit; return it with its number and due time.

    ``actor`` is None for cases that arrive through the public interfaces (kiosks, WeChat), which
    name the point they belong to and an ``actor_label`` instead. With ``finish_on_spot`` the case is
    logged and finished at the counter in one transaction: if it cannot be finished, nothing is saved.
    ``origin`` is the case this one came out of (a home visit handing off an errand): whoever works
    that visit may log it, whatever their role.
    ``phone_optional`` is for cases the portal logs itself (a care visit for a household with no phone).
    ``proactive`` marks proactive work (主动服务: a scheduled care visit, a campaign's finding), which the figures
    count apart from residents' requests; what a proactive case uncovers (``origin``) is proactive too.
    ``receipt``: the resident is sent the case's number and due time (not for a care visit, whose booking tells
    them the day the team comes).
    How a home-visit case's visit is booked is the visits room's (``visits.log_and_offer``).
    """
    if actor is not None and origin is None and not access.can(actor, "case.log"):
        raise Forbidden(_l("Your role does not log cases."))
    if actor is not None and household is not None and not access.households.usable(actor, household, requester_phone):
        raise DomainError(_l("This household is not reachable at the phone given, nor in your places; "
                             "choose it from the caller's households."), field="household_id")
    if not access.households.resident_of(household, resident):
        raise DomainError(_l("This resident does not live in the chosen household."), field="resident_id")
    if item is None or not item.active:
        raise DomainError(_l("Choose a service item from the list."), field="item")
    description = typed(description, "description", required=_l("Describe what the resident needs."))
    requester_name = (requester_name or "").strip()
    if not requester_name:
        raise DomainError(_l("Give the resident's name."), field="requester_name")
    phone = privacy.normalise_phone(requester_phone)
    if not (phone_optional and not phone) and not privacy.is_valid_phone(phone):
        raise DomainError(_l("Enter a mobile number of 11 digits, a landline with its area code, "
                             "or a number abroad starting with +."), field="requester_phone")
    if household is not None:
        place = household.place
        address = address or household.address
    if place is None and not address.strip():
        raise DomainError(_l("Choose the household or the place, or write the address."), field="place")
    mode = mode or item.mode
    point = point or (responsible_point(mode, place, actor) if actor else None)
    if point is None:
        raise DomainError(_l("No service point serves this place; choose the place again."), field="place")

    now = clock.now()
    calendar = timekeeping.calendar_for(point)
    team = team_for(place) if mode is Mode.HOME else None
    # The rules above decided; one Core INSERT writes the case (``unit.insert``: its object is the session's,
    # as if loaded, for whatever the request reads of it next).
    case = unit.insert(Case, {
        "number": next_number(point, now), "item_id": item.id, "household_id": _id(household),
        "resident_id": _id(resident), "requester_name": requester_name[:50], "requester_phone": phone,
        "place_id": _id(place), "address": address.strip()[:200], "service_point_id": point.id, "channel": channel,
        "description": description, "mode": mode, "status": CaseStatus.LOGGED,
        "priority": Priority.URGENT if item.urgent else Priority.NORMAL,
        # Final for an urgent item (its limit runs from logging); otherwise fixed again at the first signature.
        "due_at": timekeeping.due_time(item, now, point, mode, calendar),
        "sign_due_at": timekeeping.sign_for_due(item, now, point, calendar),
        "team_id": _id(team), "created_by_id": _id(actor), "created_at": now, "updated_at": now, "redo_count": 0,
        "transfer_count": 0, "origin_id": _id(origin), "version": 1,
        "proactive": bool(proactive or (origin is not None and origin.proactive)),
    })
    if mode is Mode.ERRAND:
        unit.insert_many(CaseMaterial, [{"case_id": case.id, "name": name[:80]} for name in item.material_list])
    record_event(case, actor, EventKind.LOGGED, to_status=CaseStatus.LOGGED, from_status=None, public=True,
           data={"channel": channel.value, **counters.where(case)}, actor_label=actor_label)
    counters.bump(case, now, logged=1, counter_logged=int(mode is Mode.COUNTER))
    audit.record("log", actor=actor, obj=case, actor_name="" if actor else actor_label,
                 changes={"number": (None, case.number), "item": (None, item.code),
                          "requester_phone": (None, phone)})
    if finish_on_spot:
        lifecycle.finish_on_spot(case, actor)
    elif receipt:
        messages.receipt(case)
    unit.end_step()
    return case
