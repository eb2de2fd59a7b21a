"""Routes of the heating area."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import abort, flash, request, stream_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import access, heating
from portal.domain.cases import intake
from portal.domain.platform import public_address
from portal.extensions import db
from portal.heating import bp, cards
from portal.heating.forms import CampaignForm, CloseIncidentForm, DoorForm, DutyForm, HotlineForm, IncidentForm
from portal.models import (
    Campaign,
    CampaignVisit,
    Finding,
    Household,
    Incident,
    Place,
    PlaceKind,
    Role,
    ServiceItem,
    ServicePoint,
    User,
    VisitResult,
)
from portal.web import arg_id
from portal.web.forms import aware, options
from portal.web.guards import allow, me
from portal.web.htmx import redirect_to, render
from portal.web.i18n import localized
from portal.web.navigation import register
from portal.web.submit import run, submit

HEATING_ROLES = (Role.STAFF, Role.BUTLER, Role.LEAD)
register("heating.hotline", _l("Heating hotline"), _l("Take a heating call: the caller, the fault, the butler."),
         {Role.BUTLER, Role.LEAD}, rank=15)
register("heating.index", _l("Heating district"), _l("Incidents, the duty roster, visit campaigns, convenience cards."),
         HEATING_ROLES, when="heating.desk")


def _my_stations() -> list[ServicePoint]:
    return heating.stations_of(me())


def _running(stations) -> list[ServicePoint]:
    """The stations the user runs (declares incidents, keeps the roster of)."""
    return [s for s in stations if access.can(me(), "station.run", s)]


def _station_options(stations):
    return options([(None, _("— choose —"))] + [(s.id, localized(s)) for s in stations])


@bp.get("/")
@allow(*HEATING_ROLES)
def index():
    """The heating district's desk: open incidents, campaigns, and the station's tools."""
    stations = _my_stations()
    if not stations:
        abort(403)
    return render("heating/index.html", stations=stations,
                  incidents=heating.open_incidents([s.id for s in stations]),
                  campaigns=heating.active_campaigns(me()))


# --- the hotline ------------------------------------------------------------------------------------------

@bp.route("/hotline", methods=["GET", "POST"])
@allow(Role.STAFF, Role.BUTLER, Role.LEAD)
def hotline():
    """The heating hotline on a phone: find the caller, tap the fault, and the call is routed."""
    stations = _my_stations()
    form = HotlineForm()
    form.station.choices = _station_options(stations)
    caller = intake.caller_lookup(form.requester_phone.data or "", me()) if form.requester_phone.data else None
    done = submit(form, lambda: heating.take_call(
        me(), db.session.scalars(sa.select(ServiceItem).filter_by(code=form.item.data)).first(),
        form.requester_phone.data, form.requester_name.data or "",
        household=db.session.get(Household, form.household_id.data) if form.household_id.data else None,
        station=db.session.get(ServicePoint, form.station.data) if form.station.data else None,
        address=form.address.data or "", description=form.description.data or ""), "item")
    if done.ok:
        case = done.value
        if case.incident is not None:
            flash(_("Call %(number)s is linked to the incident “%(title)s”.", number=case.number,
                    title=case.incident.title), "warning")
        elif case.owner is not None:
            flash(_("Call %(number)s went to %(name)s.", number=case.number, name=case.owner.display_name),
                  "success")
        else:
            flash(_("Call %(number)s is in the station's queue: the address is to be checked.",
                    number=case.number), "warning")
        return redirect_to(url_for("cases.show", number=case.number))
    return render("heating/hotline.html", form=form, caller=caller, faults=heating.fault_items(),
                  incident=_incident_for(caller), status=done.status)


def _incident_for(caller):
    if caller is None or not caller.households:
        return None
    return heating.open_incident(caller.households[0].place)


@bp.get("/caller")
@allow(Role.STAFF, Role.BUTLER, Role.LEAD)
def caller():
    """Who is calling: the household, its estate and butler, and any incident there (htmx)."""
    found = intake.caller_lookup(request.args.get("requester_phone", ""), me())
    butler = heating.butler_of(found.households[0].place) if found.households else None
    return render("heating/_caller.html", caller=found, butler=butler, incident=_incident_for(found))


# --- incidents ------------------------------------------------------------------------------------------

def _estates(stations):
    ids = [s.id for s in stations]
    return list(db.session.scalars(sa.select(Place).where(Place.kind == PlaceKind.ESTATE, Place.active,
                                                          Place.service_point_id.in_(ids)).order_by(Place.code)))


@bp.route("/incidents", methods=["GET", "POST"])
@allow(Role.STAFF, Role.LEAD, Role.BUTLER)
def incidents():
    """Declare an estate incident, and see the open ones."""
    stations = _my_stations()
    running = _running(stations)
    form = IncidentForm()
    form.station.choices = _station_options(running)
    form.places.choices = options((p.id, f"{p.code} {localized(p)}") for p in _estates(running))
    may_declare = bool(running)
    station = lambda: next((s for s in running if s.id == form.station.data), None)  # noqa: E731
    places = lambda: list(db.session.scalars(sa.select(Place).where(Place.id.in_(form.places.data))))  # noqa: E731
    done = submit(form, lambda: heating.declare_incident(me(), station(), form.title.data, form.notice.data, places(),
                                                         aware(form.expected_end_at.data)), "title") \
        if may_declare else None
    if done and done.ok:
        flash(_("Incident declared: calls from its estates are now linked to it."), "success")
        return redirect_to(url_for("heating.incident", incident_id=done.value.id))
    return render("heating/incidents.html", form=form if may_declare else None,
                  incidents=heating.open_incidents([s.id for s in stations]), status=done.status if done else 200)


@bp.get("/incidents/<int:incident_id>")
@allow(*HEATING_ROLES)
def incident(incident_id: int):
    """One incident and the calls linked to it."""
    row = access.load(me(), Incident, incident_id, "incident.view")
    return render("heating/incident.html", incident=row, form=CloseIncidentForm(formdata=None))


@bp.post("/incidents/<int:incident_id>/close")
@allow(Role.STAFF, Role.LEAD)
def close_incident(incident_id: int):
    """Close an incident; its calls are resolved with the closing note."""
    row = access.load(me(), Incident, incident_id, "incident.view")
    form = CloseIncidentForm()
    done = submit(form, lambda: heating.close_incident(row, me(), form.note.data), "note")
    if done.ok:
        flash(_("Incident closed; %(n)d calls resolved.", n=done.value), "success")
        return redirect_to(url_for("heating.incident", incident_id=incident_id))
    return render("heating/incident.html", incident=db.session.get(Incident, incident_id), form=form,
                  status=done.status)


# --- duty roster ------------------------------------------------------------------------------------------

@bp.route("/duty", methods=["GET", "POST"])
@allow(Role.STAFF, Role.LEAD, Role.BUTLER)
def duty():
    """Who answers each station's calls at night and on holidays, for the coming four weeks."""
    stations = _my_stations()
    running = _running(stations)
    form = DutyForm()
    form.station.choices = _station_options(running)
    people = {u.id: u for station in running for u in heating.duty_candidates(station)}
    form.user.choices = options([(None, _("— nobody —"))] + [(u.id, f"{u.display_name}（{u.role.label}）")
                                                             for u in people.values()])
    station = lambda: next((s for s in running if s.id == form.station.data), None)  # noqa: E731
    chosen = lambda: db.session.get(User, form.user.data) if form.user.data else None  # noqa: E731
    done = submit(form, lambda: heating.set_duty(me(), station(), form.day.data, chosen()), "user") if running else None
    if done and done.ok:
        flash(_("Saved."), "success")
        return redirect_to(url_for("heating.duty"))
    first = clock.today()
    days = [first + timedelta(days=n) for n in range(28)]
    rosters = {s.id: heating.roster(s, days[0], days[-1]) for s in stations}
    return render("heating/duty.html", form=form if running else None,
                  stations=stations, days=days, rosters=rosters, holiday=heating.public_holidays(first, days[-1]),
                  status=done.status if done else 200)


# --- visit campaigns -------------------------------------------------------------------------------------

def _campaign(campaign_id: int) -> Campaign:
    return access.load(me(), Campaign, campaign_id, "campaign.view")


@bp.route("/campaigns", methods=["GET", "POST"])
@allow(*HEATING_ROLES)
def campaigns():
    """Visit campaigns (入户走访): start one over estates and dates, and see the running ones."""
    estates = [p for p in _estates(_my_stations()) if access.can(me(), "estate.campaign", p)]
    form = CampaignForm()
    form.places.choices = options((p.id, f"{p.code} {localized(p)}") for p in estates)
    may_start = access.can(me(), "campaign.start") and bool(estates)
    places = lambda: [p for p in estates if p.id in set(form.places.data)]  # noqa: E731
    done = submit(form, lambda: heating.create_campaign(me(), form.name.data, places(), form.starts_on.data,
                                                        form.ends_on.data, form.monthly.data), "name") if may_start else None
    if done and done.ok:
        flash(_("Campaign started."), "success")
        return redirect_to(url_for("heating.campaign", campaign_id=done.value.id))
    return render("heating/campaigns.html", form=form if may_start else None,
                  campaigns=heating.active_campaigns(me()), status=done.status if done else 200)


@bp.get("/campaigns/<int:campaign_id>")
@allow(*HEATING_ROLES)
def campaign(campaign_id: int):
    """A campaign's board per estate: households visited over households, findings, cases."""
    row = _campaign(campaign_id)
    return render("heating/campaign.html", campaign=row, board=heating.campaign_board(row), Finding=Finding,
                  months=heating.monthly_coverage(row) if row.monthly else None)


@bp.get("/campaigns/<int:campaign_id>/walk")
@allow(*HEATING_ROLES)
def walk(campaign_id: int):
    """Door to door on a phone: the households of an estate (or a building) with what was found."""
    row = _campaign(campaign_id)
    places = [p for p in row.places if access.can(me(), "campaign.walk", p)]
    asked = arg_id("place")
    place = next((p for p in places if p.id == asked), None if asked else (places[0] if places else None))
    if place is None:
        abort(404)
    building = request.args.get("building") or None
    return render("heating/walk.html", campaign=row, places=places, place=place, building=building,
                  buildings=heating.buildings(place), doors=heating.walk(row, place, building),
                  form=DoorForm(formdata=None), VisitResult=VisitResult)


@bp.post("/campaigns/<int:campaign_id>/households/<int:household_id>")
@allow(Role.BUTLER, Role.STAFF, Role.LEAD)
def door(campaign_id: int, household_id: int):
    """Record one door: visited, not at home, or a finding."""
    row = _campaign(campaign_id)
    household = access.load(me(), Household, household_id, "household.door")
    form = DoorForm()
    back = url_for("heating.walk", campaign_id=campaign_id, place=household.place_id,
                   building=request.form.get("building") or None) + f"#door-{household_id}"
    if form.validate_on_submit():
        run(lambda: heating.record_visit(row, household, me(), VisitResult(form.result.data),
                                         Finding(form.finding.data) if form.finding.data else None,
                                         form.note.data or ""), about=household.address)  # the walk lists many
    else:
        for errors in form.errors.values():
            flash(f"{household.address}：{errors[0]}", "error")
    return redirect_to(back)


@bp.post("/campaigns/visits/<int:visit_id>/case")
@allow(Role.BUTLER, Role.STAFF, Role.LEAD)
def finding_case(visit_id: int):
    """Turn a finding into a case for the butler, in one tap."""
    visit = access.load(me(), CampaignVisit, visit_id, "finding.case")
    done = run(lambda: heating.finding_to_case(visit, me()))
    if not done.ok:
        return redirect_to(url_for("heating.walk", campaign_id=visit.campaign_id, place=visit.place_id))
    flash(_("Case %(number)s logged.", number=done.value.number), "success")
    return redirect_to(url_for("heating.walk", campaign_id=visit.campaign_id, place=visit.place_id)
                       + f"#door-{visit.household_id}")


# --- convenience cards ------------------------------------------------------------------------------------

@bp.get("/cards")
@allow(Role.STAFF, Role.LEAD, Role.BUTLER)
def cards_page():
    """Printable A4 sheets of eight convenience cards for an estate or one of its buildings, streamed sheet by
    sheet; a big estate prints in parts of 400 cards (each well within a worker's time), chosen on a list."""
    estates = [p for p in _estates(_my_stations()) if access.can(me(), "estate.cards", p)]
    place = next((p for p in estates if p.code == request.args.get("estate")), None)
    if place is None:
        return render("heating/cards_choose.html", estates=estates)
    building = request.args.get("building") or None
    total = cards.count(place, building)
    parts = max((total + cards.PART - 1) // cards.PART, 1)
    part = request.args.get("part", type=int) if parts > 1 else None
    if parts > 1 and (part is None or not 1 <= part <= parts):  # too many for one page: choose a part
        return render("heating/cards_parts.html", place=place, building=building, total=total, parts=parts,
                      size=cards.PART, per_sheet=cards.PER_SHEET)
    base = public_address.base()
    if base is None:  # a card's QR code must open a page residents reach: never print one without it
        flash(_("Cards are not printed while the portal's public address (PUBLIC_BASE_URL) is not set: their QR "
                "codes would open nothing. Ask the administrator to set it."), "error")
        return render("heating/cards_choose.html", estates=estates, status=409)
    return stream_template("heating/cards.html", place=place, building=building, buildings=heating.buildings(place),
                           part=part, parts=parts, sheets=cards.sheets(place, building, base, part))


@bp.app_template_filter("weekday")
def weekday(day: date) -> str:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")][day.weekday()]

