"""The heating district: calls routed to the estate's butler (or the one on duty), estate incidents,
home-visit campaigns (入户走访) and the convenience cards.

A call from a known household goes to the butler of its estate during the station's working hours,
and to the station's person on duty at night and on public holidays. A call whose address is not in
the register goes to the station's queue, unassigned, marked "address to check". A call from an
estate with an open incident is linked to the incident instead of being worked on its own; closing
the incident resolves all of them with one note the residents see.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import DomainError, access
from portal.domain.boards import counters
from portal.domain.cases import intake, lifecycle, timekeeping
from portal.domain.cases.timeline import record_event
from portal.domain.platform import audit, unit
from portal.domain.platform.text import MAX_TEXT
from portal.extensions import db
from portal.models import (
    Campaign,
    CampaignVisit,
    Case,
    CaseStatus,
    Channel,
    DayKind,
    DutyShift,
    EventKind,
    Finding,
    Household,
    Incident,
    Place,
    PlaceKind,
    PointKind,
    Role,
    ServiceItem,
    ServicePoint,
    User,
    VisitResult,
    user_places,
)

FAULT_CODES = ("HT01", "HT02", "HT03", "HT04")
FINDING_ITEMS = {Finding.UNEVEN: "HT02", Finding.LEAK: "HT03", Finding.AIR_LOCK: "HT04", Finding.OTHER: "HT01"}


def stations() -> list[ServicePoint]:
    return list(db.session.scalars(sa.select(ServicePoint).where(
        ServicePoint.active, ServicePoint.kind == PointKind.HEATING_STATION).order_by(ServicePoint.code)))


def estates_of(station: ServicePoint) -> list[Place]:
    return list(db.session.scalars(sa.select(Place).where(
        Place.active, Place.kind == PlaceKind.ESTATE, Place.service_point_id == station.id).order_by(Place.code)))


def fault_items() -> list[ServiceItem]:
    items = {i.code: i for i in db.session.scalars(sa.select(ServiceItem).where(ServiceItem.code.in_(FAULT_CODES)))}
    return [items[code] for code in FAULT_CODES if code in items]


# --- routing ------------------------------------------------------------------------------------------

def butler_of(place: Place | None) -> User | None:
    """The active butler covering an estate (each estate has one)."""
    if place is None:
        return None
    return db.session.scalars(
        sa.select(User).join(user_places, user_places.c.user_id == User.id)
        .where(user_places.c.place_id == place.id, User.role == Role.BUTLER, User.active).order_by(User.id)
    ).first()


def on_duty(station: ServicePoint | None, day: date) -> User | None:
    if station is None:
        return None
    shift = db.session.scalars(sa.select(DutyShift).where(DutyShift.service_point_id == station.id,
                                                          DutyShift.day == day)).first()
    return shift.user if shift and shift.user.active else None


def desk_calendar(station: ServicePoint, around: datetime | None = None) -> timekeeping.WorkCalendar:
    """When the station's day shift answers the phone: its week and hours, the district's public holidays and
    make-up days, and the station's own closures (the one working calendar, ``timekeeping``)."""
    return timekeeping.calendar_for(station, around, desk=True)


def public_holidays(first: date, last: date) -> set[date]:
    """The district's public holidays between two days (when the person on duty answers all day)."""
    overrides = timekeeping.calendar_for(None, clock.local_midnight(first)).overrides
    return {day for day, kind in overrides.items() if kind is DayKind.HOLIDAY and first <= day <= last}


def in_office_hours(station: ServicePoint, moment: datetime) -> bool:
    """Whether the station's day shift is on at ``moment``."""
    return desk_calendar(station, moment).is_open(moment)


@dataclass(frozen=True)
class Route:
    owner: User | None
    reason: str  # "butler", "duty" or "station"


def route(place: Place | None, station: ServicePoint, moment: datetime) -> Route:
    """Who answers a call: the estate's butler by day; at night and on holidays the person on duty, or the
    butler where the station's butlers are on call (the person on duty when the estate has none); the
    station's queue when the address is unknown."""
    if place is None:
        return Route(None, "station")
    butler = butler_of(place)
    if not in_office_hours(station, moment) and not (station.butlers_on_call and butler):
        duty = on_duty(station, clock.local(moment).date())
        if duty is not None:
            return Route(duty, "duty")
    return Route(butler, "butler") if butler else Route(None, "station")


def open_incident(place: Place | None) -> Incident | None:
    if place is None:
        return None
    return db.session.scalars(
        sa.select(Incident).join(Incident.places).where(Place.id == place.id, Incident.closed_at.is_(None))
        .order_by(Incident.starts_at.desc())
    ).first()


@unit.transactional
def take_call(actor: User, item: ServiceItem, phone: str, caller_name: str, household: Household | None = None,
              station: ServicePoint | None = None, address: str = "", description: str = "") -> Case:
    """Log a heating hotline call and route it (or link it to the estate's open incident)."""
    if item is None or item.category_zh != "供热":
        raise DomainError(_l("Choose one of the heating faults."), field="item")
    place = household.place if household is not None else None
    station = (place.service_point if place is not None else None) or station or actor.service_point
    if station is None or station.kind is not PointKind.HEATING_STATION \
            or (place is None and not access.can(actor, "station.view", station)):
        raise DomainError(_l("Choose the heating station that serves the caller."), field="station")
    if household is None and not address.strip():
        raise DomainError(_l("The caller is not in the register: write the address they give."), field="address")
    description = description.strip() or str(item.name_zh)
    resident = household.residents[0] if household is not None and household.residents else None
    case = intake.log_case(actor, item, Channel.PHONE, description, caller_name or (resident.name if resident else ""),
                           phone, household=household, resident=resident, address=address, point=station)
    incident = open_incident(place)
    if incident is not None:
        case.incident = incident
        record_event(case, actor, EventKind.INCIDENT, public=True, note=incident.notice,
                     data={"incident": incident.title})
    else:
        chosen = route(place, station, case.created_at)
        case.owner = chosen.owner
        record_event(case, None, EventKind.ROUTED, actor_label="system",
                     data={"owner": chosen.owner.display_name if chosen.owner else None, "why": chosen.reason})
    unit.end_step()
    return case


# --- incidents ---------------------------------------------------------------------------------------------

def declare_incident(actor: User, station: ServicePoint | None, title: str, notice: str, places: list[Place],
                     expected_end_at: datetime | None) -> Incident:
    """A station declares an outage over some of its estates."""
    if station is None:
        raise DomainError(_l("Choose the heating station that serves the caller."), field="station")
    access.require(actor, "station.run", station, _l("Only the station's staff and leads declare incidents."))
    title, notice = (title or "").strip(), (notice or "").strip()
    if not title:
        raise DomainError(_l("Give the incident a title."), field="title")
    if not places:
        raise DomainError(_l("Choose the estates it affects."), field="places")
    if any(p.service_point_id != station.id for p in places):
        raise DomainError(_l("Choose estates of this station only."), field="places")
    if expected_end_at is not None and expected_end_at <= clock.now():
        raise DomainError(_l("The expected end must be in the future."), field="expected_end_at")
    incident = Incident(service_point=station, title=title[:100], notice=notice[:MAX_TEXT], places=places,
                        expected_end_at=expected_end_at, created_by=actor, starts_at=clock.now())
    db.session.add(incident)
    db.session.flush()
    audit.record("declare_incident", actor=actor, obj=incident, changes={"title": (None, title)})
    unit.end_step()
    return incident


def close_incident(incident: Incident, actor: User, note: str) -> int:
    """Close an incident; every call linked to it is resolved with one note the residents see."""
    access.require(actor, "station.run", incident.service_point,
                   _l("Only the station's staff and leads close incidents."))
    if not incident.is_open:
        raise DomainError(_l("This incident is already closed."))
    note = (note or "").strip()
    if not note:
        raise DomainError(_l("Write the note the residents will read (what was repaired)."), field="note")
    incident.closed_at, incident.closing_note = clock.now(), note[:MAX_TEXT]
    open_cases = [c for c in incident.cases if c.status.is_open]
    resolved = lifecycle.resolve_for_incident(open_cases, actor, note)
    audit.record("close_incident", actor=actor, obj=incident, changes={"resolved": (None, resolved)})
    unit.end_step()
    return resolved


def open_incidents(station_ids: list[int] | None = None) -> list[Incident]:
    query = sa.select(Incident).where(Incident.closed_at.is_(None)).options(joinedload(Incident.service_point))
    if station_ids is not None:
        query = query.where(Incident.service_point_id.in_(station_ids))
    return list(db.session.scalars(query.order_by(Incident.starts_at.desc())).unique())


# --- duty roster --------------------------------------------------------------------------------------------

def set_duty(actor: User, station: ServicePoint | None, day: date, user: User | None) -> None:
    """Name who is on duty at a station on a day (None clears it)."""
    if station is None:
        raise DomainError(_l("Choose the heating station that serves the caller."), field="station")
    access.require(actor, "station.run", station, _l("Only the station's staff and leads keep its roster."))
    if user is not None and not access.heating.may_be_on_duty(user, station):
        raise DomainError(_l("Choose an active butler or staff member of this station."), field="user")
    shift = db.session.scalars(sa.select(DutyShift).where(DutyShift.service_point_id == station.id,
                                                          DutyShift.day == day)).first()
    old = shift.user.username if shift else None
    if user is None:
        if shift is not None:
            db.session.delete(shift)
    elif shift is None:
        db.session.add(DutyShift(service_point=station, day=day, user=user))
    else:
        shift.user = user
    audit.record("duty", actor=actor, obj=station, changes={day.isoformat(): (old, user.username if user else None)})
    unit.end_step()


def roster(station: ServicePoint, first: date, last: date) -> dict[date, User]:
    shifts = db.session.scalars(sa.select(DutyShift).where(
        DutyShift.service_point_id == station.id, DutyShift.day >= first, DutyShift.day <= last)
        .options(joinedload(DutyShift.user)))
    return {shift.day: shift.user for shift in shifts}


# --- visit campaigns ---------------------------------------------------------------------------------------

def create_campaign(actor: User, name: str, places: list[Place], starts_on: date, ends_on: date,
                    monthly: bool = False) -> Campaign:
    """A campaign over estates and dates; a ``monthly`` one visits every household once a month (访问暖)."""
    access.require(actor, "campaign.start", message=_l("Only station staff and leads start campaigns."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Give the campaign a name."), field="name")
    if not places or any(p.kind is not PlaceKind.ESTATE for p in places):
        raise DomainError(_l("Choose the estates the campaign covers."), field="places")
    if not all(access.can(actor, "estate.campaign", p) for p in places):
        raise DomainError(_l("Choose estates you cover."), field="places")
    if starts_on is None or ends_on is None or ends_on < starts_on:
        raise DomainError(_l("The campaign ends on or after the day it starts."), field="ends_on")
    campaign = Campaign(name=name[:80], places=places, starts_on=starts_on, ends_on=ends_on, monthly=bool(monthly),
                        created_by=actor)
    db.session.add(campaign)
    db.session.flush()
    audit.record("create", actor=actor, obj=campaign, changes={"name": (None, campaign.name)})
    unit.end_step()
    return campaign


def record_visit(campaign: Campaign, household: Household, actor: User, result: VisitResult,
                 finding: Finding | None = None, note: str = "") -> CampaignVisit:
    """Record a household's door: visited (fine), not at home, or a finding; the latest call counts."""
    if household.place_id not in {p.id for p in campaign.places}:
        raise DomainError(_l("This household is not in the campaign's estates."))
    access.require(actor, "household.door", household, _l("This household is in an estate you do not cover."))
    if result is VisitResult.FINDING and finding in (None, Finding.FINE):
        raise DomainError(_l("Say what was found."), field="finding")
    if result is not VisitResult.FINDING:
        finding = Finding.FINE if result is VisitResult.VISITED else None
    if not campaign.starts_on <= clock.today() <= campaign.ends_on:
        raise DomainError(_l("The campaign runs from %(first)s to %(last)s.", first=campaign.starts_on.isoformat(),
                             last=campaign.ends_on.isoformat()))
    round_ = campaign.round_of(clock.today())
    row = db.session.scalars(sa.select(CampaignVisit).where(CampaignVisit.campaign_id == campaign.id,
                                                            CampaignVisit.household_id == household.id,
                                                            CampaignVisit.round == round_)).first()
    if row is None:
        row = CampaignVisit(campaign=campaign, household=household, place_id=household.place_id, by=actor,
                            result=result, finding=finding, note=(note or "")[:MAX_TEXT], attempts=1, at=clock.now(),
                            round=round_)
        db.session.add(row)
    else:
        row.result, row.finding, row.note, row.by, row.at = result, finding, (note or "")[:MAX_TEXT], actor, clock.now()
        row.attempts += 1
    audit.record("campaign_visit", actor=actor, obj=household, changes={"result": (None, result.value)})
    # The coverage shown on the estate's and its station's boards changed.
    counters.mark([f"place:{household.place_id}", f"point:{household.place.service_point_id or 0}"], clock.now())
    unit.end_step()
    return row


@unit.transactional
def finding_to_case(visit: CampaignVisit, actor: User) -> Case:
    """Turn a finding into a case for the butler, in one tap (a leak is urgent)."""
    access.require(actor, "finding.case", visit)
    if visit.result is not VisitResult.FINDING or visit.finding is None:
        raise DomainError(_l("Only a finding becomes a case."))
    if visit.case_id is not None:
        raise DomainError(_l("This finding is already case %(number)s.", number=visit.case.number))
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code=FINDING_ITEMS[visit.finding])).one()
    household = visit.household
    resident = household.residents[0] if household.residents else None
    case = intake.log_case(actor, item, Channel.VISIT, visit.note or str(visit.finding.label),
                           resident.name if resident else household.address, household.phone or "",
                           household=household, resident=resident)
    case.owner = actor if actor.role is Role.BUTLER else butler_of(household.place)
    visit.case = case
    record_event(case, None, EventKind.ROUTED, actor_label="system",
                 data={"owner": case.owner.display_name if case.owner else None, "why": "campaign"})
    unit.end_step()
    return case


@dataclass
class CampaignFigures:
    place: Place
    households: int
    visited: int
    not_home: int
    findings: Counter
    cases: int
    resolved: int

    @property
    def coverage(self) -> float | None:
        return self.visited / self.households if self.households else None


def current_round(campaign: Campaign) -> date:
    """The round a campaign's page shows: today's, or its first or last one outside its dates."""
    return campaign.round_of(min(max(clock.today(), campaign.starts_on), campaign.ends_on))


def campaign_board(campaign: Campaign, round_: date | None = None) -> list[CampaignFigures]:
    """Per estate: households visited over households, findings by type, cases created and resolved, in one
    round (this month's, for a monthly campaign)."""
    round_ = round_ or current_round(campaign)
    figures = []
    for place in campaign.places:
        households = db.session.scalar(sa.select(sa.func.count()).select_from(Household).where(
            Household.place_id == place.id, Household.active)) or 0
        rows = db.session.execute(
            sa.select(CampaignVisit.result, CampaignVisit.finding, Case.status)
            .outerjoin(Case, Case.id == CampaignVisit.case_id)
            .where(CampaignVisit.campaign_id == campaign.id, CampaignVisit.place_id == place.id,
                   CampaignVisit.round == round_)
        ).all()
        findings = Counter(r.finding for r in rows if r.result is VisitResult.FINDING)
        figures.append(CampaignFigures(
            place=place, households=households,
            visited=sum(1 for r in rows if r.result is not VisitResult.NOT_HOME),
            not_home=sum(1 for r in rows if r.result is VisitResult.NOT_HOME),
            findings=findings, cases=sum(1 for r in rows if r.status is not None),
            resolved=sum(1 for r in rows if r.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)),
        ))
    return figures


def walk(campaign: Campaign, place: Place, building: str | None = None) -> list[tuple[Household, CampaignVisit | None]]:
    """The doors of an estate (or one building) in order, with what was recorded at each."""
    query = sa.select(Household).where(Household.place_id == place.id, Household.active)
    if building:
        query = query.where(Household.building == building)
    households = db.session.scalars(query.order_by(Household.code)).all()
    round_ = current_round(campaign)
    visits = {v.household_id: v for v in db.session.scalars(sa.select(CampaignVisit).where(
        CampaignVisit.campaign_id == campaign.id, CampaignVisit.place_id == place.id, CampaignVisit.round == round_))}
    return [(h, visits.get(h.id)) for h in households]


def monthly_coverage(campaign: Campaign) -> dict[Place, list[tuple[date, int, int]]]:
    """A monthly campaign's coverage per estate and month so far: (month, households visited, households)."""
    households = dict(db.session.execute(
        sa.select(Household.place_id, sa.func.count()).where(Household.place_id.in_([p.id for p in campaign.places]),
                                                            Household.active).group_by(Household.place_id)).all())
    visited = {(row.place_id, row.round): row.n for row in db.session.execute(
        sa.select(CampaignVisit.place_id, CampaignVisit.round,
                  sa.func.count(sa.distinct(CampaignVisit.household_id)).label("n"))
        .where(CampaignVisit.campaign_id == campaign.id, CampaignVisit.result != VisitResult.NOT_HOME)
        .group_by(CampaignVisit.place_id, CampaignVisit.round))}
    months, month = [], campaign.starts_on.replace(day=1)
    while month <= min(campaign.ends_on, clock.today()):
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return {place: [(m, visited.get((place.id, m), 0), households.get(place.id, 0)) for m in months]
            for place in campaign.places}


def buildings(place: Place) -> list[str]:
    return [b for b in db.session.scalars(sa.select(Household.building).where(
        Household.place_id == place.id, Household.building.is_not(None)).distinct().order_by(Household.building))]


def active_campaigns(user: User) -> list[Campaign]:
    """The campaigns still running that ``user`` may see."""
    query = sa.select(Campaign).where(Campaign.ends_on >= clock.today(), access.scope(user, "campaign.view"))
    return list(db.session.scalars(query.options(sa.orm.selectinload(Campaign.places))
                                   .order_by(Campaign.starts_on.desc())))


def stations_of(user: User) -> list[ServicePoint]:
    """The heating stations ``user`` may see."""
    return list(db.session.scalars(sa.select(ServicePoint).where(ServicePoint.active, access.scope(user, "station.view"))
                                   .order_by(ServicePoint.code)))


def duty_candidates(station: ServicePoint) -> list[User]:
    """Who may be put on the station's duty roster."""
    return list(db.session.scalars(sa.select(User).where(access.heating.duty_candidates(station))
                                   .order_by(User.role, User.display_name)))

