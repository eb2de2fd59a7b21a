"""Demo data of the heating district: a duty roster (one station's with a night nobody is on duty), an open incident
with its calls, a visit campaign part way through, with findings and the cases made of them, the season in its
week of trial heating with the room temperatures measured at doors (those below the standard made cases), and a
card job waiting for its lead."""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from portal import clock
from portal.domain import card_jobs, heating
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import (
    Campaign,
    CampaignVisit,
    DutyShift,
    Finding,
    HeatingSeason,
    Household,
    Incident,
    Job,
    JobStatus,
    Place,
    PlaceKind,
    PointKind,
    Role,
    ServiceItem,
    ServicePoint,
    User,
    VisitResult,
)


def load_heating(seed: int = 2026) -> None:
    rng = random.Random(seed)
    today = clock.today()
    stations = db.session.scalars(sa.select(ServicePoint).where(ServicePoint.kind == PointKind.HEATING_STATION)).all()
    estates = db.session.scalars(sa.select(Place).where(Place.kind == PlaceKind.ESTATE).order_by(Place.code)).all()
    for index, station in enumerate(sorted(stations, key=lambda s: s.code)):
        butlers = [heating.butler_of(p) for p in estates if p.service_point_id == station.id]
        butlers = [b for b in butlers if b is not None]
        for offset in range(14):
            if index == len(stations) - 1 and offset == 5:
                continue  # a night nobody is on duty: the duty page and the heating desk warn of it
            db.session.add(_shift(station, today + timedelta(days=offset), butlers[offset % len(butlers)]))
    # The season in its week of trial heating (low-temperature running): the season proper starts in three days.
    db.session.add(HeatingSeason(name=f"{today.year if today.month >= 7 else today.year - 1}—"
                                      f"{today.year + 1 if today.month >= 7 else today.year}",
                                 trial_from=today - timedelta(days=4), season_from=today + timedelta(days=3),
                                 ends_on=today + timedelta(days=120)))

    lead = db.session.scalars(sa.select(User).where(User.role == Role.LEAD, User.username == "head-ht-sqt")).first()
    e03 = next(p for p in estates if p.code == "E03")
    db.session.add(_incident(e03, lead))
    unit.end_step()
    desk = db.session.scalars(sa.select(User).where(User.username == "staff-ht-sqt")).one()
    radiator = db.session.scalars(sa.select(ServiceItem).filter_by(code="HT01")).one()
    for household in db.session.scalars(sa.select(Household).where(Household.place_id == e03.id).limit(3)):
        heating.take_call(desk, radiator, household.phone, "", household=household, description="家里暖气突然不热了")

    campaign = Campaign(name="2026—2027 采暖季“访问暖”", places=list(estates), starts_on=today - timedelta(days=20),
                        ends_on=today + timedelta(days=40), monthly=True, created_by=lead)
    db.session.add(campaign)
    db.session.flush()
    findings = [Finding.UNEVEN, Finding.LEAK, Finding.AIR_LOCK, Finding.AIR_LOCK, Finding.NOT_WARM,
                Finding.BELOW_STANDARD, Finding.OTHER]
    for estate in estates:
        butler = heating.butler_of(estate)
        households = db.session.scalars(sa.select(Household).where(Household.place_id == estate.id)
                                        .order_by(Household.id)).all()
        for household in households[: int(len(households) * rng.uniform(0.2, 0.45))]:
            roll = rng.random()
            result = VisitResult.NOT_HOME if roll < 0.15 else (VisitResult.FINDING if roll < 0.22 else VisitResult.VISITED)
            at = clock.now() - timedelta(days=rng.uniform(0, 19), hours=rng.uniform(0, 8))
            db.session.add(CampaignVisit(
                campaign=campaign, household=household, place_id=estate.id, by=butler, result=result,
                finding=rng.choice(findings) if result is VisitResult.FINDING else (
                    Finding.FINE if result is VisitResult.VISITED else None),
                at=at, round=campaign.round_of(clock.local(at).date()),
            ))
    unit.end_step()
    for visit in db.session.scalars(sa.select(CampaignVisit).where(CampaignVisit.result == VisitResult.FINDING)
                                    .order_by(CampaignVisit.id).limit(40)):
        heating.finding_to_case(visit, visit.by)
    _temperatures(rng, estates)
    _card_job(lead, e03)


def _temperatures(rng: random.Random, estates) -> None:
    """Room temperatures measured at doors this week of trial heating: most rooms warm enough, some not (each of
    those opens its household's 温度不达标 case, as a butler's reading would)."""
    campaign = db.session.scalars(sa.select(Campaign).order_by(Campaign.id)).first()
    for estate in estates:
        butler = heating.butler_of(estate)
        if butler is None:
            continue
        households = db.session.scalars(sa.select(Household).where(Household.place_id == estate.id,
                                                                   Household.active).order_by(Household.id)
                                        .limit(12)).all()
        for household in households:
            reading = heating.record_temperature(butler, household, round(rng.uniform(15.5, 21.5), 1),
                                                 campaign=campaign)
            reading.at = clock.now() - timedelta(days=rng.uniform(0, 4), hours=rng.uniform(0, 6))
    unit.end_step()


def _card_job(lead, estate) -> None:
    """A lead's cards of one building, waiting: the portal's runner makes them when the lead opens the cards page
    (the demo data is loaded before the portal knows its public address, which the QR codes name)."""
    building = db.session.scalar(sa.select(Household.building).where(Household.place_id == estate.id,
                                                                      Household.building.is_not(None))
                                 .order_by(Household.building))
    db.session.add(Job(kind=card_jobs.KIND, user=lead, status=JobStatus.QUEUED, stage="", done=0, total=0, error="",
                       attempts=0, worker="", created_at=clock.now(),
                       params={"estates": [estate.id], "building": building,
                               "filename": f"{estate.name_zh}{' · ' + building if building else ''}"}))
    unit.end_step()


def _shift(station, day, user):
    return DutyShift(service_point=station, day=day, user=user)


def _incident(place, lead):
    now = clock.now()
    ends = now + timedelta(hours=5)
    # The notice names the same moment the incident expects (the page shows both).
    return Incident(service_point=place.service_point, title="主管网抢修，暂停供热", places=[place], created_by=lead,
                    notice=f"阳光海岸小区主管网抢修，预计 {clock.local(ends):%m-%d %H:%M} 前恢复供热，给您带来不便敬请谅解。",
                    starts_at=now - timedelta(hours=3), expected_end_at=ends)
