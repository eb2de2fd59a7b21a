"""Demo data of the heating district: a duty roster, an open incident with its calls, and a visit
campaign part way through, with findings and the cases made of them."""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from portal import clock
from portal.domain import heating
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import (
    Campaign,
    CampaignVisit,
    DutyShift,
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
)


def load_heating(seed: int = 2026) -> None:
    rng = random.Random(seed)
    today = clock.today()
    stations = db.session.scalars(sa.select(ServicePoint).where(ServicePoint.kind == PointKind.HEATING_STATION)).all()
    estates = db.session.scalars(sa.select(Place).where(Place.kind == PlaceKind.ESTATE).order_by(Place.code)).all()
    for station in stations:
        butlers = [heating.butler_of(p) for p in estates if p.service_point_id == station.id]
        butlers = [b for b in butlers if b is not None]
        for offset in range(14):
            db.session.add(_shift(station, today + timedelta(days=offset), butlers[offset % len(butlers)]))

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
    findings = [Finding.UNEVEN, Finding.LEAK, Finding.AIR_LOCK, Finding.AIR_LOCK, Finding.OTHER]
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


def _shift(station, day, user):
    return DutyShift(service_point=station, day=day, user=user)


def _incident(place, lead):
    now = clock.now()
    return Incident(service_point=place.service_point, title="主管网抢修，暂停供热", places=[place], created_by=lead,
                    notice="阳光海岸小区主管网抢修，预计今天 18:00 前恢复供热，给您带来不便敬请谅解。",
                    starts_at=now - timedelta(hours=3), expected_end_at=now + timedelta(hours=5))
