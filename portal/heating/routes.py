"""Routes of the heating area."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import abort, flash, request, send_file, stream_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.cases import page
from portal.domain import access, card_jobs, heating
from portal.domain.cases import intake
from portal.domain.platform import public_address
from portal.extensions import db
from portal.heating import bp, cards
from portal.heating.forms import (
    CampaignForm,
    CardJobForm,
    CloseIncidentForm,
    DoorForm,
    DutyForm,
    FindingsForm,
    HotlineForm,
    IncidentForm,
    SeasonForm,
    TemperatureForm,
)
from portal.models import (
    Campaign,
    CampaignVisit,
    Finding,
    HeatingSeason,
    Household,
    Incident,
    Job,
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
         HEATING_ROLES, rank=15, when="heating.desk")
register("heating.index", _l("Heating district"), _l("Incidents, the duty roster, visit campaigns, convenience cards."),
         HEATING_ROLES, when="heating.desk")
register("heating.seasons", _l("Heating season"), _l("Trial heating, the season proper and its end, per season."),
         {Role.ADMIN}, when="season.set")


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
                  campaigns=heating.active_campaigns(me()), phase=heating.phase_on(), gaps=_duty_gaps(stations))


def _duty_gaps(stations) -> list[tuple[ServicePoint, list[date]]]:
    """The stations with nights of the coming week that nobody is on duty for."""
    gaps = [(s, heating.nights_without_duty(s)) for s in stations]
    return [(s, nights) for s, nights in gaps if nights]


# --- the hotline ------------------------------------------------------------------------------------------

@bp.route("/hotline", methods=["GET", "POST"])
@allow(Role.STAFF, Role.BUTLER, Role.LEAD)
def hotline():
    """The heating hotline on a phone: find the caller, tap the fault, and the call is routed."""
    stations = _my_stations()
    form = HotlineForm()
    form.station.choices = _station_options(stations)
    caller = intake.caller_lookup(form.requester_phone.data or "", me()) if form.requester_phone.data else None
    if form.station.data is None:
        form.station.data = _station_of(caller, stations)
    household = db.session.get(Household, form.household_id.data) if form.household_id.data else None
    fault = db.session.scalars(sa.select(ServiceItem).filter_by(code=form.item.data)).first() if form.item.data else None
    open_before = heating.open_case_of(household, fault) if household and fault and form.is_submitted() else None
    done = submit(form, lambda: heating.take_call(
        me(), fault, form.requester_phone.data, form.requester_name.data or "", household=household,
        station=db.session.get(ServicePoint, form.station.data) if form.station.data else None,
        address=form.address.data or "", description=form.description.data or ""), "item")
    if done.ok:
        case = done.value
        if open_before is not None and case.id == open_before.id:  # noted on the household's open case of that fault
            flash(_("The household already has case %(number)s open for this fault: the call is noted on it, and no "
                    "new case was logged.", number=case.number), "warning")
        elif case.incident is not None:
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
                  incident=_incident_for(caller), phase=heating.phase_on(), status=done.status)


def _station_of(caller, stations) -> int | None:
    """The station to preselect: the one serving the caller's estate, else the user's only station."""
    ids = [s.id for s in stations]
    if caller is not None and caller.households:
        place = caller.households[0].place
        if place is not None and place.service_point_id in ids:
            return place.service_point_id
    return ids[0] if len(ids) == 1 else None


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
    station = None
    if found.households:  # the estate is known: its station is chosen in the form as well (out of band)
        stations = _my_stations()
        station = HotlineForm(formdata=None)
        station.station.choices = _station_options(stations)
        station.station.data = _station_of(found, stations)
    return render("heating/_caller.html", caller=found, butler=butler, incident=_incident_for(found),
                  station_form=station)


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
                  gaps=_duty_gaps(stations), warning_days=heating.DUTY_WARNING_DAYS, status=done.status if done else 200)


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
                  campaigns=heating.active_campaigns(me()), phase=heating.phase_on(), status=done.status if done else 200)


@bp.get("/campaigns/<int:campaign_id>")
@allow(*HEATING_ROLES)
def campaign(campaign_id: int):
    """A campaign's board per estate: households visited over households, findings, cases."""
    row = _campaign(campaign_id)
    return _campaign_page(row, FindingsForm(formdata=None))


def _campaign_page(row: Campaign, findings_form: FindingsForm, status: int = 200):
    return render("heating/campaign.html", campaign=row, board=heating.campaign_board(row), Finding=Finding,
                  months=heating.monthly_coverage(row) if row.monthly else None, phase=heating.phase_on(),
                  findings=heating.open_findings(row, me()), findings_form=findings_form, status=status)


@bp.post("/campaigns/<int:campaign_id>/findings/cases")
@allow(Role.BUTLER, Role.STAFF, Role.LEAD)
def findings_cases(campaign_id: int):
    """Make the chosen findings of a campaign cases in one step, each with its household and finding."""
    row = _campaign(campaign_id)
    form = FindingsForm()
    chosen = lambda: [access.load(me(), CampaignVisit, visit_id, "finding.case")  # noqa: E731
                      for visit_id in form.visits.data or []]
    done = submit(form, lambda: heating.findings_to_cases(row, chosen(), me()), "visits")
    if not done.ok:
        return _campaign_page(row, form, done.status)
    made = done.value
    flash(_("%(n)d cases logged: %(numbers)s.", n=len(made.cases), numbers="、".join(c.number for c in made.cases))
          if made.cases else _("No case logged."), "success" if made.cases else "warning")
    if made.already:
        flash(_("Already cases, left as they are: %(numbers)s.",
                numbers="、".join(v.case.number for v in made.already)), "warning")
    return redirect_to(url_for("heating.campaign", campaign_id=campaign_id) + "#findings")


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
    buildings = heating.buildings(place)
    # A phone opens one building's doors (a whole estate is a thousand doors, megabytes); "All" asks for the estate.
    building = request.args.get("building", buildings[0] if len(buildings) > 1 else "") or None
    doors = heating.walk(row, place, building)
    return render("heating/walk.html", campaign=row, places=places, place=place, building=building,
                  buildings=buildings, doors=doors,
                  form=DoorForm(formdata=None), VisitResult=VisitResult, phase=heating.phase_on(),
                  standard=heating.standard(), readings=heating.latest_readings([h.id for h, _v in doors]))


@bp.post("/campaigns/<int:campaign_id>/households/<int:household_id>/temperature")
@allow(Role.BUTLER, Role.STAFF, Role.LEAD)
def door_temperature(campaign_id: int, household_id: int):
    """Record a room temperature at a door; below the standard it opens or updates a 温度不达标 case."""
    form = TemperatureForm()
    return _at_the_door(campaign_id, household_id, form, _say_reading, lambda row, household: heating.record_temperature(
        me(), household, form.celsius.data, campaign=row))


def _at_the_door(campaign_id: int, household_id: int, form, said, write):
    """A form posted at one door of the walk: write it and go back to that door. The walk lists many doors, so
    what is said (refusals included) names the door's address."""
    row = _campaign(campaign_id)
    household = access.load(me(), Household, household_id, "household.door")
    if form.validate_on_submit():
        done = run(lambda: write(row, household), about=household.address)
        if done.ok and said is not None:
            said(done.value)
    else:
        for errors in form.errors.values():
            flash(f"{household.address}：{errors[0]}", "error")
    return redirect_to(url_for("heating.walk", campaign_id=campaign_id, place=household.place_id,
                               building=request.form.get("building")) + f"#door-{household_id}")


def _say_reading(reading) -> None:
    """Below or meeting the standard, by the reading itself: one taken on a fault is on that case either way."""
    if reading.celsius < reading.standard and reading.case is None:  # out of the season (heating.HEATED)
        flash(_("%(celsius)s recorded, below the standard %(standard)s; %(phase)s: no 温度不达标 case is opened.",
                celsius=celsius(reading.celsius), standard=celsius(reading.standard), phase=reading.phase.label),
              "warning")
    elif reading.celsius < reading.standard:
        flash(_("%(celsius)s is below the standard %(standard)s: case %(number)s.", celsius=celsius(reading.celsius),
                standard=celsius(reading.standard), number=reading.case.number), "warning")
    else:
        flash(_("%(celsius)s recorded; it meets the standard %(standard)s.", celsius=celsius(reading.celsius),
                standard=celsius(reading.standard)), "success")


@bp.post("/cases/<number>/temperature")
@allow(Role.BUTLER, Role.STAFF, Role.LEAD)
def case_temperature(number: str):
    """Record a room temperature on a heating fault; below the standard it opens or updates a 温度不达标 case."""
    case = access.load_case(number, me(), ())
    if case.household is None:
        abort(404)
    household = access.load(me(), Household, case.household_id, "household.door")
    form = TemperatureForm()
    done = submit(form, lambda: heating.record_temperature(me(), household, form.celsius.data, case=case), "celsius")
    if done.ok:
        _say_reading(done.value)
        return redirect_to(url_for("cases.show", number=number) + "#temperatures")
    return page.case_page(page.full(number), temperature_form=form, status=done.status)


@bp.post("/campaigns/<int:campaign_id>/households/<int:household_id>")
@allow(Role.BUTLER, Role.STAFF, Role.LEAD)
def door(campaign_id: int, household_id: int):
    """Record one door: visited, not at home, or a finding."""
    form = DoorForm()
    return _at_the_door(campaign_id, household_id, form, None, lambda row, household: heating.record_visit(
        row, household, me(), VisitResult(form.result.data), Finding(form.finding.data) if form.finding.data else None,
        form.note.data or ""))


@bp.post("/campaigns/visits/<int:visit_id>/case")
@allow(Role.BUTLER, Role.STAFF, Role.LEAD)
def finding_case(visit_id: int):
    """Turn a finding into a case for the butler, in one tap."""
    visit = access.load(me(), CampaignVisit, visit_id, "finding.case")
    done = run(lambda: heating.finding_to_case(visit, me()))
    back = url_for("heating.walk", campaign_id=visit.campaign_id, place=visit.place_id,
                   building=request.form.get("building"))  # the same building's doors ("" for the whole estate)
    if not done.ok:
        return redirect_to(back)
    flash(_("Case %(number)s logged.", number=done.value.number), "success")
    return redirect_to(back + f"#door-{visit.household_id}")


# --- the heating season ----------------------------------------------------------------------------------

@bp.route("/seasons", methods=["GET", "POST"])
@allow(Role.ADMIN)
def seasons():
    """The heating seasons and their phases: set a new one, or change one (an administrator's)."""
    access.require(me(), "season.set")
    season = db.session.get(HeatingSeason, arg_id("season")) if arg_id("season") else None
    form = SeasonForm(obj=season) if request.method == "GET" and season is not None else SeasonForm()
    done = submit(form, lambda: heating.set_season(me(), form.name.data, form.trial_from.data, form.season_from.data,
                                                   form.ends_on.data, season), "name")
    if done.ok:
        flash(_("Saved."), "success")
        return redirect_to(url_for("heating.seasons"))
    return render("heating/seasons.html", form=form, season=season, seasons=heating.seasons(),
                  phase=heating.phase_on(), standard=heating.standard(), status=done.status)


# --- convenience cards ------------------------------------------------------------------------------------

@bp.get("/cards")
@allow(Role.STAFF, Role.LEAD, Role.BUTLER)
def cards_page():
    """Printable A4 sheets of eight convenience cards for an estate or one of its buildings, streamed sheet by
    sheet; a big estate prints in parts of 400 cards (each well within a worker's time), chosen on a list."""
    estates = [p for p in _estates(_my_stations()) if access.can(me(), "estate.cards", p)]
    place = next((p for p in estates if p.code == request.args.get("estate")), None)
    if place is None:
        return _cards_choose(estates, _card_job_form(estates))
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
        return _cards_choose(estates, _card_job_form(estates), status=409)
    return stream_template("heating/cards.html", place=place, building=building, buildings=heating.buildings(place),
                           part=part, parts=parts, sheets=cards.sheets(place, building, base, part))


def _card_job_form(estates, formdata=None) -> CardJobForm:
    form = CardJobForm(formdata=formdata) if formdata is None else CardJobForm()
    form.estate.choices = options([("", _("— choose —")), ("*", _("All my estates (%(n)d)", n=len(estates)))]
                                  + [(p.code, f"{p.code} {localized(p)}") for p in estates])
    return form


def _cards_choose(estates, job_form, status: int = 200):
    return render("heating/cards_choose.html", estates=estates, job_form=job_form, jobs=card_jobs.recent(me()),
                  status=status)


@bp.post("/cards/jobs")
@allow(Role.STAFF, Role.LEAD, Role.BUTLER)
def start_cards():
    """Start printable PDF sheets of cards (an estate, one of its buildings, or all one's estates) as a background
    job; its page shows the progress, then the file to download."""
    estates = [p for p in _estates(_my_stations()) if access.can(me(), "estate.cards", p)]
    form = _card_job_form(estates, formdata=True)
    chosen = lambda: estates if form.estate.data == "*" else [p for p in estates if p.code == form.estate.data]  # noqa: E731
    done = submit(form, lambda: card_jobs.start(me(), chosen(), form.building.data), "estate")
    if done.ok:
        return redirect_to(url_for("jobs.show", job_id=done.value.id))
    return _cards_choose(estates, form, status=done.status)


@bp.get("/cards/jobs/<int:job_id>/file")
@allow(Role.STAFF, Role.LEAD, Role.BUTLER)
def cards_file(job_id: int):
    """Download the sheets a card job made (only its starter may)."""
    job = access.load(me(), Job, job_id)
    done = run(lambda: card_jobs.download(job, me()), say=False)
    if not done.ok:
        abort(404)
    path, name = done.value
    return send_file(path, as_attachment=True, download_name=name,
                     mimetype="application/zip" if name.endswith(".zip") else "application/pdf")


@bp.app_template_filter("celsius")
def celsius(value) -> str:
    """18 ℃, 17.5 ℃: a temperature as a thermometer shows it."""
    return f"{float(value):g} ℃"


@bp.app_template_filter("weekday")
def weekday(day: date) -> str:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")][day.weekday()]

