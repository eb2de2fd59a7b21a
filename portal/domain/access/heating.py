"""Who may see and run the heating district's stations, incidents, campaigns, duty rosters and cards.

A heating station is seen by its staff, by the butlers and leads of its estates, and by district leads; it
is run (incidents declared and closed, its duty roster kept, campaigns started) by its staff and by the
leads who answer for it. A campaign is seen by those who cover one of its estates; a household's door is
recorded, and a finding turned into a case, by those who cover the household's estate. Only the station's
own people may be put on its duty roster (they receive its callers' data at night). Convenience cards
are printed for the estates one covers.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.domain.access.people import above, covers, place_ids, sees_everything, served_by, stations
from portal.domain.access.policy import rule
from portal.models import (
    Campaign,
    CampaignVisit,
    Case,
    Household,
    Incident,
    Place,
    PlaceKind,
    PointKind,
    Role,
    ServicePoint,
    User,
    campaign_places,
    user_places,
)

DUTY_ROLES = (Role.BUTLER, Role.STAFF, Role.LEAD)


def station_scope(user: User) -> sa.ColumnElement[bool]:
    is_station = ServicePoint.kind == PointKind.HEATING_STATION
    if sees_everything(user):
        return is_station
    ids = place_ids(user)
    serving = ServicePoint.id.in_(sa.select(Place.service_point_id).where(Place.id.in_(ids))) if ids else sa.false()
    own = ServicePoint.id == user.service_point_id if user.service_point_id else sa.false()
    return sa.and_(is_station, sa.or_(own, serving) if user.role in (Role.STAFF, Role.LEAD, Role.BUTLER)
                   else sa.false())


@rule("station.view", ServicePoint, sql=station_scope, reads=True)
def may_see_station(user: User, station: ServicePoint) -> bool:
    if station.kind is not PointKind.HEATING_STATION:
        return False
    if sees_everything(user):
        return True
    if user.role not in (Role.STAFF, Role.LEAD, Role.BUTLER):
        return False
    serving = served_by()
    return station.id == user.service_point_id or any(serving.get(p) == station.id for p in place_ids(user))


def runner_scope(user: User) -> sa.ColumnElement[bool]:
    if user.role is Role.LEAD:
        return station_scope(user)
    if user.role is Role.STAFF and user.service_point_id:
        return sa.and_(ServicePoint.kind == PointKind.HEATING_STATION, ServicePoint.id == user.service_point_id)
    return sa.false()


@rule("station.run", ServicePoint, sql=runner_scope)
def may_run_station(user: User, station: ServicePoint) -> bool:
    """Declare and close incidents, keep the duty roster, start campaigns: the station's staff, its leads."""
    if user.role is Role.LEAD:
        return may_see_station(user, station)
    return user.role is Role.STAFF and station.kind is PointKind.HEATING_STATION \
        and station.id == user.service_point_id


@rule("heating.desk")
def works_in_heating(user: User) -> bool:
    """Has a heating desk: butlers, staff of a heating station, leads who answer for one."""
    if user.role is Role.BUTLER or (user.role is Role.LEAD and sees_everything(user)):
        return True
    if user.role not in (Role.STAFF, Role.LEAD):
        return False
    ids, serving = stations(), served_by()  # station_scope in Python (tests/test_access.py holds them equal)
    return user.service_point_id in ids or any(serving.get(place) in ids for place in place_ids(user))


@rule("incident.view", Incident, reads=True)
def may_see_incident(user: User, incident: Incident) -> bool:
    return may_see_station(user, incident.service_point)


@rule("incident.close", Incident)
def may_close_incident(user: User, incident: Incident) -> bool:
    return incident.is_open and may_run_station(user, incident.service_point)


@rule("case.close_incident", Case)
def may_resolve_with_incident(user: User, case: Case) -> bool:
    """Resolve a call by closing the incident it is linked to: who runs the incident's station."""
    return case.incident is not None and may_run_station(user, case.incident.service_point)


# --- campaigns -------------------------------------------------------------------------------------------

def campaign_scope(user: User) -> sa.ColumnElement[bool]:
    if sees_everything(user):
        return sa.true()
    ids = place_ids(user)
    if not ids or user.role not in (Role.STAFF, Role.LEAD, Role.BUTLER):
        return sa.false()
    return Campaign.id.in_(sa.select(campaign_places.c.campaign_id).where(campaign_places.c.place_id.in_(ids)))


@rule("campaign.view", Campaign, sql=campaign_scope, reads=True)
def may_see_campaign(user: User, campaign: Campaign) -> bool:
    if sees_everything(user):
        return True
    return user.role in (Role.STAFF, Role.LEAD, Role.BUTLER) and any(
        place.id in place_ids(user) for place in campaign.places)


@rule("campaign.start")
def may_start_campaign(user: User) -> bool:
    """Staff of a heating station and leads start campaigns (over estates they cover)."""
    return user.role in (Role.STAFF, Role.LEAD) and works_in_heating(user)


@rule("estate.campaign", Place)
def may_campaign_in(user: User, estate: Place) -> bool:
    """A campaign may cover this estate: one the user covers."""
    return estate.kind is PlaceKind.ESTATE and covers(user, estate.id) and may_start_campaign(user)


@rule("campaign.walk", Place)
def may_walk(user: User, estate: Place) -> bool:
    """Walk an estate's doors (and see its households' addresses): those who cover it."""
    return user.role in (Role.STAFF, Role.LEAD, Role.BUTLER) and covers(user, estate.id)


@rule("household.door", Household)
def may_record_door(user: User, household: Household) -> bool:
    """Record what was found at a household's door: those who cover its estate."""
    return user.role in (Role.STAFF, Role.LEAD, Role.BUTLER) and covers(user, household.place_id)


@rule("finding.view", CampaignVisit, reads=True)
def may_see_finding(user: User, visit: CampaignVisit) -> bool:
    """What was found at a door: those who cover the household's estate."""
    return user.role in (Role.STAFF, Role.LEAD, Role.BUTLER) and covers(user, visit.place_id)


@rule("finding.case", CampaignVisit)
def may_make_case(user: User, visit: CampaignVisit) -> bool:
    """Turn a campaign finding into a case: those who see it."""
    return may_see_finding(user, visit)


# --- the duty roster and the cards ---------------------------------------------------------------------

def may_be_on_duty(person: User, station: ServicePoint) -> bool:
    """Who may answer a station's calls at night: its own staff and butlers, and its leads."""
    if not person.active or person.role not in DUTY_ROLES:
        return False
    if person.service_point_id == station.id:
        return True
    return person.role is Role.LEAD and may_see_station(person, station)


def duty_candidates(station: ServicePoint) -> sa.ColumnElement[bool]:
    """``may_be_on_duty`` as an SQL condition on users."""
    served = above(place for place, point in served_by().items() if point == station.id)
    leads = sa.and_(User.role == Role.LEAD, sa.or_(
        User.id.not_in(sa.select(user_places.c.user_id)),
        User.id.in_(sa.select(user_places.c.user_id).where(user_places.c.place_id.in_(served)))))
    return sa.and_(User.active, User.role.in_(DUTY_ROLES), sa.or_(User.service_point_id == station.id, leads))


@rule("estate.cards", Place)
def may_print_cards(user: User, estate: Place) -> bool:
    """Print an estate's convenience cards: those who cover it."""
    return estate.kind is PlaceKind.ESTATE and user.role in (Role.STAFF, Role.LEAD, Role.BUTLER) \
        and covers(user, estate.id)


@rule("season.set")
def may_set_season(user: User) -> bool:
    """Set the heating season's phases (trial heating, the season proper, its end): administrators."""
    return user.role is Role.ADMIN
