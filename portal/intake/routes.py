"""Routes of the intake area: the form, and the item and caller look-ups it makes as you type."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.domain import DomainError, access, visits
from portal.domain.cases import intake
from portal.extensions import MAX_ID, db
from portal.intake import bp
from portal.intake.forms import IntakeForm
from portal.models import (
    CaseStatus,
    Channel,
    Household,
    Mode,
    Place,
    PlaceKind,
    Resident,
    Role,
    ServiceItem,
    Slot,
    Team,
)
from portal.web import arg_id
from portal.web.forms import options, with_picked_slot
from portal.web.guards import allow, me
from portal.web.htmx import redirect_to, render
from portal.web.i18n import localized
from portal.web.navigation import register
from portal.web.submit import run, submit

INTAKE_ROLES = (Role.STAFF, Role.BUTLER, Role.LEAD)
register("intake.new_case", _l("Log a case"), _l("A walk-in, a call, a WeChat message or a visit."), INTAKE_ROLES, rank=10)


def _place_options():
    places = db.session.scalars(
        sa.select(Place).where(Place.active, Place.kind.in_([PlaceKind.HAMLET, PlaceKind.ESTATE, PlaceKind.VILLAGE]))
        .order_by(Place.code)
    )
    return options([(None, _("— from the household —"))] + [(p.id, f"{p.code} {localized(p)}") for p in places])


def _chosen_item(form: IntakeForm) -> ServiceItem | None:
    if form.item_id.data:
        return db.session.get(ServiceItem, form.item_id.data)
    return None


@bp.route("/", methods=["GET", "POST"])
@allow(*INTAKE_ROLES)
def new_case():
    """Log a case: find the item and the caller, describe the need, save, print the receipt."""
    form = IntakeForm(with_picked_slot(request.form, "visit_day", "visit_slot")) if request.method == "POST" else IntakeForm()
    form.place_id.choices = _place_options()
    if request.method == "GET":
        form.channel.data = intake.usual_channel(me()).value
    item = _chosen_item(form)
    items = intake.find_items(form.item_query.data) if form.item_query.data and item is None else []
    caller = intake.caller_lookup(form.requester_phone.data or "", me()) if form.requester_phone.data else None

    def log():
        chosen = item or (items[0] if items and (len(items) == 1 or intake.is_code_of(items[0], form.item_query.data))
                          else None)
        if chosen is None:
            raise DomainError(_("Choose a service item from the list."), field="item_query")
        household = db.session.get(Household, form.household_id.data) if form.household_id.data else None
        resident = db.session.get(Resident, form.resident_id.data) if form.resident_id.data else None
        mode = Mode(form.mode.data) if form.mode.data else chosen.mode
        case = (chosen, Channel(form.channel.data), form.description.data,
                form.requester_name.data or (resident.name if resident else ""), form.requester_phone.data)
        details = dict(household=household, resident=resident, address=form.address.data or "", mode=mode,
                       place=db.session.get(Place, form.place_id.data) if form.place_id.data else None,
                       finish_on_spot=form.finish.data == "1")
        if mode is Mode.HOME and form.visit_day.data:  # the case and its visit are saved together, or neither
            return visits.log_and_book(me(), form.visit_day.data, Slot(form.visit_slot.data or "am"), *case,
                                       **details)
        return visits.log_and_offer(me(), *case, **details)

    done = submit(form, log, "description", fields={"day": "visit_day", "slot": "visit_day", "item": "item_query"})
    if done.status == 422 and done.error is None and item is None and len(items) != 1:
        # The form's own errors, and the item still to choose, said in one round rather than two.
        form.item_query.errors = [*form.item_query.errors, _("Choose a service item from the list.")]
    if done.ok:
        finished = done.value.status is CaseStatus.RESOLVED
        flash(_("Case %(number)s logged and finished on the spot.", number=done.value.number) if finished
              else _("Case %(number)s logged.", number=done.value.number), "success")
        return redirect_to(url_for("cases.show", number=done.value.number, logged=1))
    offer = _offer(request.form) if request.method == "POST" else None
    return render("intake/form.html", form=form, item=item, items=items, caller=caller, query=form.item_query.data,
                  offer=offer, chosen=None, status=done.status, duplicates=_duplicates(request.form))


@dataclass
class Offer:
    """What the intake form says about a home visit's half-day: nothing (not a home case), what is still to be
    chosen, or the team and the half-days it would accept."""
    home: bool = False
    team: Team | None = None
    slots: list = field(default_factory=list)
    place_known: bool = False
    picked: str = ""


def _offer(values) -> Offer:
    """The free half-days for the case being typed (``visits.offered_at_intake``, the same rules as the booking)."""
    def number(name: str) -> int | None:
        value = str(values.get(name, ""))
        return int(value) if value.isdigit() and 0 < int(value) <= MAX_ID else None

    item = db.session.get(ServiceItem, number("item_id") or 0)
    if item is None and values.get("item_query"):
        found = intake.find_items(values.get("item_query"), limit=1)
        item = found[0] if found and intake.is_code_of(found[0], values.get("item_query")) else None
    mode = values.get("mode") or (item.mode.value if item else "")
    if mode != Mode.HOME.value:
        return Offer()
    household = db.session.get(Household, number("household_id") or 0)
    if household is not None and not access.households.usable(me(), household, values.get("requester_phone", "")):
        household = None  # as log_case would refuse it: no visits of someone else's household shown
    place = db.session.get(Place, number("place_id") or 0)
    if household is None and place is None:
        return Offer(home=True)
    team, slots = visits.offered_at_intake(me(), item, household, place)
    day, slot = values.get("visit_day", ""), values.get("visit_slot", "")
    return Offer(True, team, slots, True, values.get("pick") or (f"{day}|{slot}" if day and slot else ""))


@bp.get("/free")
@allow(*INTAKE_ROLES)
def free():
    """The team's free half-days, as soon as a home item and the household or place are chosen (htmx)."""
    return render("intake/_free.html", offer=_offer(request.args))


@bp.get("/duplicates")
@allow(*INTAKE_ROLES)
def duplicates():
    """Open cases the call being logged may repeat (htmx, as the caller, household, item and place are chosen)."""
    return render("intake/_duplicates.html", duplicates=_duplicates(request.args))


def _duplicates(values) -> list:
    number = lambda name: int(values.get(name)) if str(values.get(name, "")).isdigit() else None  # noqa: E731
    return intake.possible_duplicates(me(), values.get("requester_phone", ""), number("household_id"),
                                      number("place_id"), number("item_id"))


@bp.post("/add-to/<number>")
@allow(*INTAKE_ROLES)
def add_to(number: str):
    """Same matter: the call is noted on that case (who called, what they said) and no case is logged."""
    case = access.load_case(number, me())
    done = run(lambda: intake.add_call(case, me(), request.form.get("description", ""),
                                       request.form.get("requester_name", ""), request.form.get("requester_phone", "")))
    if done.ok:
        flash(_("The call is noted on %(number)s; no new case was logged.", number=number), "success")
    return redirect_to(url_for("cases.show", number=number))


@bp.get("/items")
@allow(*INTAKE_ROLES)
def items():
    """The service items matching what was typed (htmx)."""
    query = request.args.get("item_query", "")
    return render("intake/_items.html", items=intake.find_items(query), query=query, item=None,
                  chosen=arg_id("item_id"))


@bp.get("/item")
@allow(*INTAKE_ROLES)
def item_details():
    """The chosen item: how it is handled, its materials and its time limit (htmx)."""
    item = db.session.get(ServiceItem, arg_id("item_id") or 0)
    return render("intake/_item_details.html", item=item)


@bp.get("/caller")
@allow(*INTAKE_ROLES)
def caller():
    """The households and recent cases of the phone number being typed (htmx caller history)."""
    return render("intake/_caller.html", caller=intake.caller_lookup(request.args.get("requester_phone", ""), me()))
