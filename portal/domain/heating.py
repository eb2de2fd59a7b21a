"""The heating district: calls routed to the estate's butler (or the one on duty), estate incidents,
home-visit campaigns (入户走访) and the convenience cards.

A call from a known household goes to the butler of its estate during the station's working hours,
and to the station's person on duty at night and on public holidays. A call whose address is not in
the register goes to the station's queue, unassigned, marked "address to check". A call from an
estate with an open incident is linked to the incident instead of being worked on its own; closing
the incident resolves all of them with one note the residents see.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import Conflict, DomainError, access
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
    HeatingSeason,
    Household,
    Incident,
    Place,
    PlaceKind,
    PointKind,
    ReadingSource,
    Role,
    SeasonPhase,
    ServiceItem,
    ServicePoint,
    TemperatureReading,
    User,
    VisitResult,
    user_places,
)

# The fault categories in the heating company's own words and order: 暖气不热, 冷热不均, 气堵, 跑冒滴漏, 温度不达标,
# 运行不安全, 服务不到位 (the catalog's heating items; fee questions and suspending service are not faults).
FAULT_CODES = ("HT01", "HT02", "HT04", "HT03", "HT07", "HT08", "HT09")
BELOW_STANDARD = "HT07"
FINDING_ITEMS = {Finding.NOT_WARM: "HT01", Finding.UNEVEN: "HT02", Finding.AIR_LOCK: "HT04", Finding.LEAK: "HT03",
                 Finding.BELOW_STANDARD: BELOW_STANDARD, Finding.UNSAFE: "HT08", Finding.POOR_SERVICE: "HT09",
                 Finding.OTHER: "HT01"}
# How far ahead the duty roster is watched for nights without anyone on duty (and what a card's "24 小时" rests on).
DUTY_WARNING_DAYS = 7


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


def desk_calendar(station: ServicePoint) -> timekeeping.WorkCalendar:
    """When the station's day shift answers the phone: its week and hours, the district's public holidays and
    make-up days, and the station's own closures (the one working calendar, ``timekeeping``)."""
    return timekeeping.calendar_for(station, desk=True)


def public_holidays(first: date, last: date) -> set[date]:
    """The district's public holidays between two days (when the person on duty answers all day)."""
    overrides = timekeeping.calendar_for(None).overrides
    return {day for day, kind in overrides.items() if kind is DayKind.HOLIDAY and first <= day <= last}


def in_office_hours(station: ServicePoint, moment: datetime) -> bool:
    """Whether the station's day shift is on at ``moment``."""
    return desk_calendar(station).is_open(moment)


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
    """Log a heating hotline call and route it (or link it to the estate's open incident); a call about a fault the
    household already has an open case for is noted on that case, which is returned (one cold radiator, one case)."""
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
    same = open_case_of(household, item) if household is not None else None
    if same is not None and access.can(actor, "case.note", same):  # the household calls again about the same fault
        intake.add_call(same, actor, description, caller_name, phone)
        return same
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
    return _case_of_finding(visit, actor)


def open_case_of(household: Household, item: ServiceItem) -> Case | None:
    """The household's open case of this fault, the oldest, if it has one."""
    return db.session.scalars(sa.select(Case).where(
        Case.household_id == household.id, Case.item_id == item.id,
        Case.status.in_([s for s in CaseStatus if s.is_open])).order_by(Case.id)).first()


def _case_of_finding(visit: CampaignVisit, actor: User) -> Case:
    """The finding's case: the household's open case of the same fault (the finding is written on its timeline: one
    cold room is one case, however it was found), or a new one for the estate's butler."""
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code=FINDING_ITEMS[visit.finding])).one()
    household = visit.household
    case = open_case_of(household, item)
    joined = case is not None
    if case is None:
        resident = household.residents[0] if household.residents else None
        case = intake.log_case(actor, item, Channel.VISIT, visit.note or str(visit.finding.label),
                               resident.name if resident else household.address, household.phone or "",
                               household=household, resident=resident, proactive=True)
        case.owner = actor if actor.role is Role.BUTLER else butler_of(household.place)
    db.session.flush()
    # A finding becomes one case: a second click (or a colleague's at the same moment) finds it taken.
    taken = db.session.execute(sa.update(CampaignVisit).where(CampaignVisit.id == visit.id,
                                                              CampaignVisit.case_id.is_(None))
                               .values(case_id=case.id).execution_options(synchronize_session=False)).rowcount
    if not taken:
        raise Conflict(_l("This finding was made a case meanwhile; nothing was saved. Open the campaign again."))
    db.session.expire(visit, ["case_id", "case"])
    found = {"campaign": visit.campaign.name, "finding": visit.finding.value, "found_at": visit.at.isoformat(),
             "found_by": visit.by.display_name}
    if joined:
        record_event(case, actor, EventKind.NOTE, data={"found_again": True, **found})
    else:
        record_event(case, None, EventKind.ROUTED, actor_label="system",
                     data={"owner": case.owner.display_name if case.owner else None, "why": "campaign", **found})
    unit.end_step()
    return case


@dataclass
class Made:
    cases: list[Case]
    already: list[CampaignVisit]  # findings that were cases before: left as they are


@unit.transactional
def findings_to_cases(campaign: Campaign, visits: list[CampaignVisit], actor: User) -> Made:
    """Make several findings of a campaign cases in one step, all or none: each with its household and finding;
    a finding that is a case already is left as it is (and said)."""
    if not visits:
        raise DomainError(_l("Choose the findings to make cases of."), field="visits")
    cases, already = [], []
    for visit in sorted(visits, key=lambda v: v.id):
        if visit.campaign_id != campaign.id:
            raise DomainError(_l("Choose findings of this campaign."), field="visits")
        access.require(actor, "finding.case", visit)
        if visit.result is not VisitResult.FINDING or visit.finding is None:
            raise DomainError(_l("Only a finding becomes a case."), field="visits")
        if visit.case_id is not None:
            already.append(visit)
            continue
        cases.append(_case_of_finding(visit, actor))
    audit.record("findings_to_cases", actor=actor, obj=campaign,
                 changes={"cases": (None, [c.number for c in cases])})
    unit.end_step()
    return Made(cases, already)


def open_findings(campaign: Campaign, user: User, round_: date | None = None) -> list[CampaignVisit]:
    """The findings of the campaign's round that ``user`` may make cases of, those not yet cases first."""
    round_ = round_ or current_round(campaign)
    rows = db.session.scalars(sa.select(CampaignVisit).where(
        CampaignVisit.campaign_id == campaign.id, CampaignVisit.round == round_,
        CampaignVisit.result == VisitResult.FINDING)
        .options(joinedload(CampaignVisit.household), joinedload(CampaignVisit.case))
        .order_by(CampaignVisit.case_id.is_not(None), CampaignVisit.place_id, CampaignVisit.household_id))
    return [v for v in rows if access.can(user, "finding.case", v)]


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
    """An estate's buildings as people count them: 1号楼, 2号楼 … 10号楼 (not 10号楼 before 2号楼)."""
    return sorted(db.session.scalars(sa.select(Household.building).where(
        Household.place_id == place.id, Household.building.is_not(None)).distinct()), key=_counted)


def _counted(name: str) -> tuple:
    """A name's sort key by the numbers in it, as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part)


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



# --- the season and its phases -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Phase:
    """Where a day stands: the phase, the season it belongs to, and the days the phase runs."""
    phase: SeasonPhase
    season: HeatingSeason | None = None
    first: date | None = None
    last: date | None = None

    @property
    def label(self) -> str:
        return str(self.phase.label)

    @property
    def trial(self) -> bool:
        return self.phase is SeasonPhase.TRIAL


def seasons() -> list[HeatingSeason]:
    return list(db.session.scalars(sa.select(HeatingSeason).order_by(HeatingSeason.trial_from.desc())))


def phase_on(day: date | None = None) -> Phase:
    """The phase of ``day`` (today): trial heating from the season's first day, the season proper from its
    ``season_from``, ended after its last day (until the next season's trial heating); not set when no season was."""
    day = day or clock.today()
    season = db.session.scalars(sa.select(HeatingSeason).where(HeatingSeason.trial_from <= day)
                                .order_by(HeatingSeason.trial_from.desc())).first()
    if season is None:
        return Phase(SeasonPhase.NOT_SET)
    if day > season.ends_on:
        following = db.session.scalar(sa.select(sa.func.min(HeatingSeason.trial_from))
                                      .where(HeatingSeason.trial_from > day))
        return Phase(SeasonPhase.ENDED, season, season.ends_on + timedelta(days=1),
                     following - timedelta(days=1) if following else None)
    if day < season.season_from:
        return Phase(SeasonPhase.TRIAL, season, season.trial_from, season.season_from - timedelta(days=1))
    return Phase(SeasonPhase.SEASON, season, season.season_from, season.ends_on)


def set_season(actor: User, name: str, trial_from: date | None, season_from: date | None, ends_on: date | None,
               season: HeatingSeason | None = None) -> HeatingSeason:
    """Set a heating season's phases (a new one, or ``season`` changed): trial heating from ``trial_from``, the
    season proper from ``season_from``, its last day ``ends_on``."""
    access.require(actor, "season.set", message=_l("Only an administrator sets the heating season."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Name the season, e.g. 2026—2027."), field="name")
    if trial_from is None:
        raise DomainError(_l("Give the date."), field="trial_from")
    if season_from is None or season_from < trial_from:
        raise DomainError(_l("The season proper starts on or after the first day of trial heating."),
                          field="season_from")
    if ends_on is None or ends_on <= season_from:
        raise DomainError(_l("The season ends after the season proper starts."), field="ends_on")
    overlapping = db.session.scalars(sa.select(HeatingSeason).where(
        HeatingSeason.trial_from <= ends_on, HeatingSeason.ends_on >= trial_from,
        HeatingSeason.id != (season.id if season is not None else 0))).first()
    if overlapping is not None:
        raise DomainError(_l("These days overlap the season %(name)s (%(first)s to %(last)s).", name=overlapping.name,
                             first=overlapping.trial_from.isoformat(), last=overlapping.ends_on.isoformat()),
                          field="trial_from")
    before = {} if season is None else {"trial_from": season.trial_from.isoformat(),
                                        "season_from": season.season_from.isoformat(),
                                        "ends_on": season.ends_on.isoformat()}
    if season is None:
        season = HeatingSeason(name=name[:40], trial_from=trial_from, season_from=season_from, ends_on=ends_on)
        db.session.add(season)
    season.name, season.trial_from, season.season_from, season.ends_on = name[:40], trial_from, season_from, ends_on
    season.set_by, season.set_at = actor, clock.now()
    db.session.flush()
    audit.record("heating_season", actor=actor, obj=season, changes={
        key: (before.get(key), value.isoformat())
        for key, value in (("trial_from", trial_from), ("season_from", season_from), ("ends_on", ends_on))})
    counters.mark([], clock.now())  # every board shows the phase
    unit.end_step()
    return season


# --- room temperatures -------------------------------------------------------------------------------------

LOWEST, HIGHEST = -10.0, 40.0  # what a room thermometer can say: anything else is a typing error


def standard() -> float:
    """The room temperature a household is owed (℃, the ``HEATING_STANDARD_CELSIUS`` setting)."""
    return float(current_app.config["HEATING_STANDARD_CELSIUS"])


def _celsius(value) -> float:
    try:
        celsius = round(float(str(value).strip().replace("℃", "").replace("，", ".")), 1)
    except (TypeError, ValueError):
        raise DomainError(_l("Write the room temperature in ℃, e.g. 17.5."), field="celsius") from None
    if not LOWEST <= celsius <= HIGHEST:
        raise DomainError(_l("A room temperature lies between %(low)s and %(high)s ℃; check the thermometer.",
                             low=int(LOWEST), high=int(HIGHEST)), field="celsius")
    return celsius


# The phases in which the standard is owed and a room below it is a 温度不达标 case: trial heating too (finding the
# cold rooms then is what it is for, before the season proper), and with no season set (not known: a cold room is
# never left unseen); not after the season's end, when the heating is off.
HEATED = frozenset({SeasonPhase.TRIAL, SeasonPhase.SEASON, SeasonPhase.NOT_SET})


def below_standard_case(household: Household) -> Case | None:
    """The household's open 温度不达标 case, if it has one."""
    return db.session.scalars(sa.select(Case).join(ServiceItem, ServiceItem.id == Case.item_id).where(
        Case.household_id == household.id, ServiceItem.code == BELOW_STANDARD,
        Case.status.in_([s for s in CaseStatus if s.is_open])).order_by(Case.id)).first()


@unit.transactional
def record_temperature(actor: User, household: Household, celsius, campaign: Campaign | None = None,
                       case: Case | None = None) -> TemperatureReading:
    """A room temperature measured at a household's door (on a campaign) or on a fault (a case). Below the
    standard, while the heating runs (``HEATED``), it opens the household's 温度不达标 case (proactive work when
    found at a door; from a fault, that fault is its origin and its timeline names it), or adds the reading to the
    one that is open; out of the season it is recorded only."""
    access.require(actor, "household.door", household, _l("This household is in an estate you do not cover."))
    value = _celsius(celsius)
    if campaign is not None and household.place_id not in {p.id for p in campaign.places}:
        raise DomainError(_l("This household is not in the campaign's estates."))
    if case is not None and case.household_id != household.id:
        raise DomainError(_l("This case is not this household's."))
    owed = standard()
    phase = phase_on(clock.today()).phase
    reading = TemperatureReading(household=household, place_id=household.place_id, by=actor, at=clock.now(),
                                 celsius=value, standard=owed, phase=phase,
                                 source=ReadingSource.FAULT if case is not None else ReadingSource.DOOR,
                                 campaign_id=campaign.id if campaign is not None else None,
                                 case_id=case.id if case is not None else None)
    db.session.add(reading)
    if value < owed and phase in HEATED:
        target = case if (case is not None and case.item.code == BELOW_STANDARD and case.status.is_open) \
            else below_standard_case(household)
        data = {"celsius": value, "standard": owed}
        if target is None:
            item = db.session.scalars(sa.select(ServiceItem).filter_by(code=BELOW_STANDARD)).first()
            if item is None:
                raise DomainError(_l("The catalog has no item 温度不达标 (HT07): ask the administrator to add it."))
            resident = household.residents[0] if household.residents else None
            target = intake.log_case(
                actor, item, Channel.VISIT, str(_l("Room temperature %(celsius)s ℃, below the standard %(standard)s ℃.",
                                                    celsius=f"{value:g}", standard=f"{owed:g}")),
                resident.name if resident else household.address, household.phone or "", household=household,
                resident=resident, origin=case, proactive=case is None)  # found at a door: proactive work
            target.owner = actor if actor.role is Role.BUTLER else butler_of(household.place)
            record_event(target, None, EventKind.ROUTED, actor_label="system",
                         data={"owner": target.owner.display_name if target.owner else None, "why": "temperature",
                               **data})
        else:
            record_event(target, actor, EventKind.NOTE, data={"temperature": value, "standard": owed})
        if case is not None and case is not target:  # the fault says where its reading went
            record_event(case, actor, EventKind.NOTE, data={"temperature": value, "standard": owed,
                                                            "below_standard_case": target.number})
        reading.case = target
    elif case is not None:
        record_event(case, actor, EventKind.NOTE, data={"temperature": value, "standard": owed, "phase": phase.value})
    if campaign is not None:
        _door_measured(campaign, household, actor, reading)
    audit.record("temperature", actor=actor, obj=household, changes={"celsius": (None, value)})
    counters.mark([f"place:{household.place_id}", f"point:{household.place.service_point_id or 0}"], clock.now())
    unit.end_step()
    return reading


def _door_measured(campaign: Campaign, household: Household, actor: User, reading: TemperatureReading) -> None:
    """A room measured at a door of a campaign was visited: the door counts in the round's coverage (a finding of a
    room below the standard, on the case the reading went to), unless the round already has what was found there."""
    today = clock.today()
    if not campaign.starts_on <= today <= campaign.ends_on:
        return
    round_ = campaign.round_of(today)
    row = db.session.scalars(sa.select(CampaignVisit).where(CampaignVisit.campaign_id == campaign.id,
                                                            CampaignVisit.household_id == household.id,
                                                            CampaignVisit.round == round_)).first()
    if reading.case is not None:  # below the standard in the heating's phases: a finding, on the reading's case
        result, finding = VisitResult.FINDING, Finding.BELOW_STANDARD
    elif reading.celsius < reading.standard:  # out of the season: visited, nothing to make a case of
        result, finding = VisitResult.VISITED, None
    else:
        result, finding = VisitResult.VISITED, Finding.FINE
    if row is None:
        db.session.add(CampaignVisit(campaign=campaign, household=household, place_id=household.place_id, by=actor,
                                     result=result, finding=finding, note="", attempts=1, at=clock.now(),
                                     round=round_, case=reading.case))
    elif row.result is VisitResult.NOT_HOME:
        row.result, row.finding, row.by, row.at, row.case = result, finding, actor, clock.now(), reading.case
        row.attempts += 1


def readings_of(household: Household, limit: int = 10) -> list[TemperatureReading]:
    return list(db.session.scalars(sa.select(TemperatureReading).where(TemperatureReading.household_id == household.id)
                                   .order_by(TemperatureReading.at.desc()).limit(limit)))


def latest_readings(household_ids: list[int]) -> dict[int, TemperatureReading]:
    """Each household's latest reading (the walk shows it beside the door)."""
    if not household_ids:
        return {}
    latest = sa.select(sa.func.max(TemperatureReading.id)).where(
        TemperatureReading.household_id.in_(household_ids)).group_by(TemperatureReading.household_id)
    return {r.household_id: r for r in db.session.scalars(sa.select(TemperatureReading).where(
        TemperatureReading.id.in_(latest)))}


@dataclass
class EstateTemperatures:
    place_id: int
    households: int  # households with a reading in the period (their latest reading counts)
    meeting: int  # of them, those whose latest reading met the standard
    lowest: float | None
    average: float | None

    @property
    def share(self) -> float | None:
        return self.meeting / self.households if self.households else None


def estate_temperatures(place_ids: list[int], since: datetime) -> list[EstateTemperatures]:
    """Per estate, since ``since``: households measured, how many of them meet the standard by their latest
    reading (a household measured twice counts once, as it is now), the lowest and the average latest reading."""
    if not place_ids:
        return []
    latest = (sa.select(TemperatureReading.household_id, sa.func.max(TemperatureReading.id).label("id"))
              .where(TemperatureReading.place_id.in_(place_ids), TemperatureReading.at >= since)
              .group_by(TemperatureReading.household_id).subquery())
    rows = db.session.execute(
        sa.select(TemperatureReading.place_id, sa.func.count().label("n"),
                  sa.func.sum(sa.case((TemperatureReading.celsius >= TemperatureReading.standard, 1), else_=0))
                  .label("meeting"),
                  sa.func.min(TemperatureReading.celsius).label("lowest"),
                  sa.func.avg(TemperatureReading.celsius).label("average"))
        .join(latest, latest.c.id == TemperatureReading.id).group_by(TemperatureReading.place_id)).all()
    found = {r.place_id: r for r in rows}
    return [EstateTemperatures(pid, found[pid].n, int(found[pid].meeting or 0), float(found[pid].lowest),
                               round(float(found[pid].average), 1))
            if pid in found else EstateTemperatures(pid, 0, 0, None, None) for pid in place_ids]


@dataclass
class BoardTemperatures:
    """An estate board's part of the season: its phase, the standard, each estate's readings since ``since``."""
    phase: Phase
    standard: float
    since: date
    estates: list[EstateTemperatures]

    @property
    def households(self) -> int:
        return sum(e.households for e in self.estates)

    @property
    def meeting(self) -> int:
        return sum(e.meeting for e in self.estates)

    @property
    def share(self) -> float | None:
        return self.meeting / self.households if self.households else None


def board_temperatures(estate_ids: list[int], today: date | None = None) -> BoardTemperatures | None:
    """The readings of a board's estates this season (from its trial heating; without a season set, since
    1 September), each household counted once by its latest reading."""
    if not estate_ids:
        return None
    today = today or clock.today()
    phase = phase_on(today)
    if phase.season is not None:  # the season under way, or the one that ended last
        since = phase.season.trial_from
    else:
        since = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    return BoardTemperatures(phase, standard(), since, estate_temperatures(estate_ids, clock.local_midnight(since)))


# --- nights without anyone on duty ---------------------------------------------------------------------------

def nights_without_duty(station: ServicePoint, first: date | None = None,
                        days: int = DUTY_WARNING_DAYS) -> list[date]:
    """The nights of the coming ``days`` whose calls would reach nobody on duty: none where the station's
    butlers are on call and every estate has one (they answer at night)."""
    first = first or clock.today()
    if station.butlers_on_call and all(butler_of(estate) for estate in estates_of(station)):
        return []
    rostered = roster(station, first, first + timedelta(days=days - 1))
    return [first + timedelta(days=n) for n in range(days)
            if first + timedelta(days=n) not in rostered or not rostered[first + timedelta(days=n)].active]


def cards_kept_for(first: date | None = None) -> HeatingSeason | None:
    """The season a card printed today is relied on in (a card is handed out once a season): the one under way or
    the next one set; None when no season lies ahead."""
    first = first or clock.today()
    return db.session.scalars(sa.select(HeatingSeason).where(HeatingSeason.ends_on >= first)
                              .order_by(HeatingSeason.ends_on).limit(1)).first()


def round_the_clock(station: ServicePoint | None, has_butler: bool, first: date | None = None) -> str | None:
    """Which number a card may call "24 小时": ``"butler"`` where the station's butlers are on call (and the estate
    has one), ``"hotline"`` where the duty roster covers every night of the season the card is kept for, from its
    trial heating (or today) to its end (``cards_kept_for``: night calls to the station reach the person on duty),
    None otherwise (the card names no hours it cannot keep)."""
    if station is None:
        return None
    if station.butlers_on_call and has_butler:
        return "butler"
    first = first or clock.today()
    season = cards_kept_for(first)
    if season is None:
        return None
    first = max(first, season.trial_from)
    return None if nights_without_duty(station, first, (season.ends_on - first).days + 1) else "hotline"
