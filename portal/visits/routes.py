"""Routes of the visits area: the team's phone view, the week's calendar, booking, the register, feeds."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import abort, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar, Event

from portal import clock
from portal.cases import page
from portal.domain import access, visits
from portal.domain.platform import public_address, unit
from portal.extensions import db
from portal.models import Mode, Place, Role, ServiceItem, Slot, Team, Visit, VisitStatus
from portal.visits import bp
from portal.visits.forms import BookForm, FinishForm, HandoffForm, MoveForm
from portal.web import arg_id, format_local
from portal.web.forms import options, with_picked_slot
from portal.web.guards import allow, me, public
from portal.web.htmx import redirect_to, render
from portal.web.i18n import localized
from portal.web.navigation import register
from portal.web.submit import run, submit

register("visits.index", _l("Home visits"), _l("Today's and this week's visits of your team."), {Role.TEAM})
register("visits.calendar", _l("Visit calendar"), _l("The week of all six teams; move visits; overdue visits."),
         {Role.LEAD, Role.TEAM}, when="visits.calendar")
register("visits.care_register", _l("Care register"), _l("Households that need service at home, by place."),
         {Role.STAFF, Role.LEAD, Role.TEAM}, when="visits.care_register")


def _visit(visit_id: int, permission: str = "visit.view") -> Visit:
    return access.load(me(), Visit, visit_id, permission)


def _day_arg(name: str) -> date:
    """A date from the query string, or today when it is missing, malformed or out of range."""
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return clock.today()
    return day if abs((day - clock.today()).days) <= 2 * 366 else clock.today()


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@bp.get("/")
@allow(Role.TEAM, Role.LEAD)
def index():
    """A team member's visits: today's, then the rest of the week, by place."""
    today = clock.today()
    team = me().team
    rows = visits.for_team(team.id, today, today + timedelta(days=6)) if team else []
    why_not = visits.obstacles(today, today + timedelta(days=6))  # of the rows shown, those that cannot take place
    blocked = {v.id: reason for v in rows if v.status is VisitStatus.BOOKED and (reason := why_not(v))}
    return render("visits/index.html", team=team, today=today, todays=[v for v in rows if v.day == today],
                  later=[v for v in rows if v.day > today], blocked=blocked)


@bp.post("/teams/<code>/feed")
@allow(Role.LEAD, Role.TEAM)
def renew_feed(code: str):
    """Issue (or renew) the secret address of a team's calendar feed; the old one stops working."""
    team = db.session.scalars(sa.select(Team).filter_by(code=code)).first()
    if team is None:
        abort(404)
    token = unit.with_retries(lambda: visits.renew_feed_token(team, me()))
    flash(_("The calendar address of %(team)s is new; give it to the team again.", team=team.name_zh), "success")
    return render("visits/feed.html", team=team,
                  feed=public_address.url("visits.feed", code=team.code, token=token)
                  or url_for("visits.feed", code=team.code, token=token))


def _handoff_form(form=None):
    form = form or HandoffForm(formdata=None)
    items = db.session.scalars(sa.select(ServiceItem).where(ServiceItem.active, ServiceItem.mode == Mode.ERRAND)
                               .order_by(ServiceItem.code))
    form.item.choices = options([(None, _("— choose —"))] + [(i.id, f"{i.code} {localized(i)}") for i in items])
    return form


@bp.post("/<int:visit_id>/start")
@allow(Role.TEAM, Role.LEAD)
def start(visit_id: int):
    """The team arrives at the door."""
    visit = _visit(visit_id)
    if run(lambda: visits.start(visit, me())).ok:
        flash(_("Visit started: it is in progress. Record what was done when you finish."), "success")
    return redirect_to(url_for("visits.index") + f"#visit-{visit_id}")


@bp.post("/<int:visit_id>/finish")
@allow(Role.TEAM, Role.LEAD)
def finish(visit_id: int):
    """Record what was done and what the resident confirmed; the case is resolved."""
    visit = _visit(visit_id)
    form = FinishForm()
    done = submit(form, lambda: visits.finish(visit, me(), form.work_done.data, form.resident_confirmed.data))
    if done.ok:
        flash(_("Visit done; the case is resolved."), "success")
        return redirect_to(url_for("visits.index"))
    return render("visits/visit.html", visit=_visit(visit_id), finish=form, handoff=_handoff_form(), status=done.status)


@bp.get("/<int:visit_id>")
@allow(Role.TEAM, Role.LEAD, Role.STAFF)
def show(visit_id: int):
    """One visit on a phone: the address, the request, and the forms to finish or hand off."""
    return render("visits/visit.html", visit=_visit(visit_id), finish=FinishForm(formdata=None),
                  handoff=_handoff_form())


@bp.post("/<int:visit_id>/handoff")
@allow(Role.TEAM, Role.LEAD)
def handoff(visit_id: int):
    """A visit uncovered an item needing approval: hand it to the hamlet's proxy as a linked errand."""
    visit = _visit(visit_id)
    form = _handoff_form(HandoffForm())
    done = submit(form, lambda: visits.hand_off(visit, me(), db.session.get(ServiceItem, form.item.data or 0),
                                                form.description.data or ""), "item")
    if done.ok:
        flash(_("Errand %(number)s logged for the proxy.", number=done.value.number), "success")
        return redirect_to(url_for("visits.show", visit_id=visit_id))
    return render("visits/visit.html", visit=_visit(visit_id), finish=FinishForm(formdata=None), handoff=form,
                  status=done.status)


# --- the lead's calendar ------------------------------------------------------------------------------

@bp.get("/calendar")
@allow(Role.LEAD, Role.TEAM)
def calendar():
    """The week's calendar of all teams, with room left in each slot, and overdue visits."""
    if not access.can(me(), "visits.calendar"):
        abort(403)
    monday = _monday(_day_arg("week"))
    own = access.visits.planned_team(me())  # a team lead plans their own team
    teams, grid = visits.week(monday, own)
    days = [monday + timedelta(days=n) for n in range(7)]
    closed = visits.closed_half_days(teams, days)
    # The evening row only in a week with an evening offered or booked (the fishing season).
    evenings = any((t.id, d, Slot.EVENING) not in closed or grid.get((t.id, d, Slot.EVENING)) for t in teams for d in days)
    return render("visits/calendar.html", teams=teams, grid=grid, days=days, monday=monday, closed=closed,
                  slots=[s for s in Slot if s is not Slot.EVENING or evenings],
                  overdue=visits.overdue(own), previous=monday - timedelta(days=7), following=monday + timedelta(days=7),
                  to_rebook=visits.to_rebook(own))


def _team_options():
    return options([(None, _("— the place's team —"))] + [
        (t.id, localized(t)) for t in db.session.scalars(sa.select(Team).where(Team.active).order_by(Team.code))])


@bp.route("/<int:visit_id>/move", methods=["GET", "POST"])
@allow(Role.LEAD, Role.TEAM)
def move(visit_id: int):
    """Move a visit to another team or slot; a full slot is refused with the next free ones."""
    visit = _visit(visit_id, "visit.plan")
    form = MoveForm(with_picked_slot(request.form)) if request.method == "POST" else MoveForm(obj=visit)
    form.team.choices = _team_options()
    if request.method == "GET":
        form.team.data, form.slot.data = visit.team_id, visit.slot.value
    team = lambda: db.session.get(Team, form.team.data) if form.team.data else visit.team  # noqa: E731
    done = submit(form, lambda: visits.move(visit, me(), form.day.data, Slot(form.slot.data), team(),
                                            version=form.version.data), "day")
    if done.ok:
        flash(_("Visit moved."), "success")
        return redirect_to(url_for("visits.calendar", week=_monday(visit.day).isoformat()))
    return render("visits/move.html", visit=_visit(visit_id, "visit.plan"), form=form,
                  alternatives=getattr(done.error, "alternatives", []), status=done.status)


# --- booking from the case page --------------------------------------------------------------------------

@bp.post("/cases/<number>/book")
@allow(Role.STAFF, Role.LEAD, Role.TEAM)
def book(number: str):
    """Book a home visit for a case; a full slot is refused with the next free ones."""
    case = page.full(number)
    form = BookForm(with_picked_slot(request.form))
    form.team.choices = _team_options()
    team = lambda: db.session.get(Team, form.team.data) if form.team.data else None  # noqa: E731
    done = submit(form, lambda: visits.book(case, me(), form.day.data, Slot(form.slot.data), team()), "day")
    if done.ok:
        flash(_("Visit booked."), "success")
        if visits.after_due(done.value):
            flash(_("The visit is after the case's due time (%(due)s): ask for an extension, or pick an earlier "
                    "half-day.", due=format_local(case.due_at)), "warning")
        return redirect_to(url_for("cases.show", number=number) + "#visit")
    return page.case_page(page.full(number), book_form=form, alternatives=getattr(done.error, "alternatives", []),
                          status=done.status)


@bp.get("/cases/<number>/free")
@allow(Role.STAFF, Role.LEAD, Role.TEAM)
def free(number: str):
    """The next free slots of the case's team from a day (htmx, as the day is chosen)."""
    case = access.load_case(number, me())
    team = db.session.get(Team, arg_id("team") or 0) or case.team
    start_day = _day_arg("day")
    return render("visits/_free.html", case=case, team=team, searched=True,
                  alternatives=visits.free_slots(team, start_day, due=case.due_at,
                                                 household_id=case.household_id) if team else [])


# --- the care register --------------------------------------------------------------------------------------

@bp.get("/register")
@allow(Role.STAFF, Role.LEAD, Role.TEAM)
def care_register():
    """Households that need service at home, per place, with their last and next visit."""
    scope = access.visits.care_places(me())
    places = db.session.scalars(sa.select(Place).where(Place.id.in_(scope)).order_by(Place.code)).all()
    chosen = arg_id("place")
    ids = [chosen] if chosen in scope else [p.id for p in places]
    return render("visits/register.html", places=places, chosen=chosen, rows=visits.care_register(ids),
                  interval=visits.interval_days())


# --- the calendar feed ------------------------------------------------------------------------------------

@bp.get("/teams/<code>.ics")
@public
def feed(code: str):
    """A team's visits as an iCalendar feed, for members' phone calendars; the token in the address
    is the key. No resident's phone number is in it."""
    team = visits.team_of_feed(code, request.args.get("token", ""))
    if team is None:
        abort(404)
    today = clock.today()
    calendar = Calendar()
    calendar.add("prodid", "-//Convenience Service Portal//visits//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", team.name_zh)
    for visit in visits.for_team(team.id, today - timedelta(days=7), today + timedelta(days=60)):
        start, end = visits.visit_window(visit)
        event = Event()
        event.add("uid", f"visit-{visit.id}@portal")
        event.add("dtstamp", clock.now())
        event.add("dtstart", start)
        event.add("dtend", end)
        case = visit.case
        event.add("summary", f"{case.item.name_zh} · {case.place.name_zh if case.place else ''}")
        event.add("location", case.address)
        event.add("description", f"{case.number} {visit.slot.label} · {visit.status.label}")
        calendar.add_component(event)
    response = make_response(calendar.to_ical())
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response

