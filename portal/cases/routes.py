"""Routes of the cases area: queues, the case page and its actions, receipts, presence, the badge."""
from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask import abort, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from portal.cases import bp, timeline
from portal.cases.forms import ACTION_FORMS, EditForm, TimelineNoteForm
from portal.domain import Conflict, DomainError, access
from portal.domain.cases import lifecycle, presence, queues
from portal.domain.platform import notify
from portal.extensions import db
from portal.models import (
    CannedReply,
    Case,
    CaseEvent,
    Channel,
    EventKind,
    Mode,
    Outcome,
    Place,
    Priority,
    Satisfaction,
    ServiceItem,
    ServicePoint,
    User,
)
from portal.supervision import panel as case_supervision
from portal.visits.panel import visit_panel
from portal.web import arg_id
from portal.web.forms import attach_error, aware, options
from portal.web.guards import ANYONE_SIGNED_IN, allow, allow_signed_in, me
from portal.web.htmx import is_htmx, redirect_to, render
from portal.web.i18n import localized
from portal.web.navigation import register

WORKER_ROLES = tuple(access.WORKERS)
# Steps of an errand that also hand documents over, so they live on the errand page.
ERRAND_PAGE_STEPS = {"send_off_island", "record_office_answer", "resolve"}
register("cases.queue", _l("Cases"), _l("Your queues: yours, to claim, your point's, overdue."), ANYONE_SIGNED_IN)


# --- queues ---------------------------------------------------------------------------------------

@bp.get("/")
@allow_signed_in
def queue():
    """Show a queue of cases with its tabs, filters, search, sorting and pages."""
    user = me()
    tabs = queues.tabs_for(user)
    tab = request.args.get("tab") or queues.default_tab(user)
    if tab not in {t.key for t in tabs}:
        tab = queues.default_tab(user)
    filters = queues.Filters.from_args(request.args, queues.DEFAULT_SORT.get(tab, "new"))
    page = queues.page_of(user, tab, filters)
    categories = db.session.scalars(sa.select(ServiceItem.category_zh).distinct().order_by(ServiceItem.category_zh))
    places = db.session.scalars(sa.select(Place).where(access.cases.place_choices(user))).all()
    return render(
        "cases/queue.html", "queue", tabs=tabs, tab=tab, counts=queues.counts(user), filters=filters, page=page,
        categories=list(categories), places=sorted(places, key=lambda p: p.code), channels=list(Channel),
        sorts=queues.SORTS, statuses=list(lifecycle.S),
    )


@bp.get("/badge")
@allow_signed_in
def badge():
    """The number of cases waiting for the user; polled, and 304 when it has not changed."""
    count, unread = queues.todo_count(me()), notify.unread_count(me())
    etag = hashlib.sha1(f"{me().id}:{count}:{unread}".encode()).hexdigest()[:16]
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
    else:
        response = render("cases/_badge.html", count=count, unread=unread)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# --- the case page -------------------------------------------------------------------------------

def _load(number: str, *options) -> Case:
    return access.load_case(number, me(), options)


def _full(number: str) -> Case:
    return _load(
        number,
        joinedload(Case.item), joinedload(Case.place), joinedload(Case.owner), joinedload(Case.service_point),
        joinedload(Case.household), joinedload(Case.merged_into), joinedload(Case.team), joinedload(Case.resident),
        selectinload(Case.events).joinedload(CaseEvent.actor),
    )


def _candidates(case: Case) -> list[User]:
    """People a case could be assigned or transferred to: those whose own scope holds it."""
    return list(db.session.scalars(sa.select(User).where(access.cases.takers(case))
                                   .order_by(User.role, User.display_name)))


def _action_forms(case: Case, submitted: dict | None = None) -> dict:
    """One form per action the user may take; a submitted one keeps its input and errors."""
    forms = {}
    candidates = None
    for transition in lifecycle.available(case, me()):
        name = transition.name
        if case.mode is Mode.ERRAND and name in ERRAND_PAGE_STEPS:
            continue  # these move documents too: they are done on the errand page
        form = (submitted or {}).get(name) or ACTION_FORMS[name](formdata=None, prefix=name, version=case.version)
        _prefill_canned(form)
        if name in ("transfer", "assign"):
            if candidates is None:
                candidates = options([(None, _("— choose —"))] + [
                    (u.id, f"{u.display_name}（{u.role.label}）") for u in _candidates(case) if u.id != case.owner_id])
            form.owner.choices = candidates
            if name == "transfer":
                points = db.session.scalars(sa.select(ServicePoint).where(ServicePoint.active)
                                            .order_by(ServicePoint.code))
                form.point.choices = options([(None, _("— choose —"))] + [
                    (p.id, localized(p)) for p in points if p.id != case.service_point_id])
        forms[name] = (transition, form)
    return forms


def _prefill_canned(form) -> None:
    """Without JavaScript a canned-reply chip is a link back to the page naming the reply and the
    field; the field comes back holding the phrase."""
    reply_id, field = arg_id("canned"), request.args.get("field", "")
    if not reply_id or not field:
        return
    for candidate in form:
        if candidate.name == field:
            reply = db.session.get(CannedReply, reply_id)
            if reply is not None:
                candidate.data = reply.text


def _canned(case: Case) -> list[CannedReply]:
    return list(db.session.scalars(
        sa.select(CannedReply).where(
            CannedReply.active,
            sa.or_(CannedReply.item_id.is_(None), CannedReply.item_id == case.item_id),
            sa.or_(CannedReply.status.is_(None), CannedReply.status == case.status),
        ).order_by(CannedReply.item_id.is_(None), CannedReply.id)
    ))


def _case_page(case: Case, submitted: dict | None = None, note_form=None, status: int = 200, book_form=None,
               alternatives=(), **supervision_forms):
    timeline = request.args.get("timeline", "all")
    events = case.events
    if timeline == "public":
        events = [e for e in events if e.public]
    elif timeline == "internal":
        events = [e for e in events if not e.public]
    return render(
        "cases/case.html", case=case, events=list(reversed(events)), timeline=timeline,
        actions=_action_forms(case, submitted), note_form=note_form or _note_form(),
        canned=_canned(case), viewers=presence.others(case, me()),
        **case_supervision.panel(case, me(), **supervision_forms),
        **visit_panel(case, me(), book_form, alternatives),
        may_note=access.can(me(), "case.note", case),
        may_edit=access.can(me(), "case.edit", case),
        status=status,
    )


def _note_form() -> TimelineNoteForm:
    form = TimelineNoteForm(formdata=None)
    _prefill_canned(form)
    return form


@bp.get("/<number>")
@allow_signed_in
def show(number: str):
    """Show a case: details, timeline, materials, and the actions the user may take."""
    return _case_page(_full(number))


@bp.post("/<number>/id-number")
@allow_signed_in
def reveal_id_number(number: str):
    """Show the requester's full ID number, on an explicit click, and write down who saw it."""
    case = _load(number, joinedload(Case.resident))
    if case.resident is None or not case.resident.id_number:
        abort(404)
    access.cases.reveal_id_number(me(), case)
    template = "cases/_id_number.html" if is_htmx() else "cases/id_number.html"
    response = render(template, full=case.resident.id_number, case=case)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<number>/act/<name>")
@allow(*WORKER_ROLES)
def act(number: str, name: str):
    """Take one action of the lifecycle on a case."""
    if name not in lifecycle.TRANSITIONS:
        abort(404)
    case = _full(number)
    if case.mode is Mode.ERRAND and name in ERRAND_PAGE_STEPS:
        abort(404)
    form = ACTION_FORMS[name](prefix=name)
    if name in ("transfer", "assign"):
        form.owner.choices = [(u.id, u.display_name) for u in _candidates(case)]
    if name == "transfer":
        form.point.choices = [(p.id, p.code) for p in db.session.scalars(sa.select(ServicePoint))]
    status = 422
    if form.validate_on_submit():
        try:
            _perform(name, case, form)
        except DomainError as error:
            db.session.rollback()
            status = error.status if error.status in (403, 409) else 422
            if error.field is None or error.status in (403, 409):
                flash(str(error.message), "error")
            else:
                attach_error(form, error)
            case = _full(number)
            form.version.data = case.version  # what was typed stays; the page now shows the latest state
        else:
            if request.form.get("row") and is_htmx():
                return render("cases/_row.html", case=_full(number), tab=request.form.get("row"))
            flash(_("Done: %(action)s.", action=lifecycle.TRANSITIONS[name].label), "success")
            return redirect_to(url_for("cases.show", number=number))
    if request.form.get("row") and is_htmx():
        return render("cases/_row.html", case=case, tab=request.form.get("row"), status=status,
                      row_error=_first_message())
    return _case_page(case, submitted={name: form}, status=status)


def _first_message():
    from flask import get_flashed_messages

    messages = get_flashed_messages(category_filter=["error"])
    return messages[0] if messages else None


def _perform(name: str, case: Case, form) -> None:
    """Call the lifecycle function of action ``name`` with the form's values."""
    user, version = me(), form.version.data
    if name == "claim":
        lifecycle.claim(case, user)  # atomic: whoever was first wins, whatever version was seen
    elif name in ("start", "send_off_island", "finish_on_spot"):
        getattr(lifecycle, name)(case, user, version=version, note=form.note.data or "")
    elif name == "record_office_answer":
        lifecycle.record_office_answer(case, user, form.answer.data, version=version, note=form.note.data or "")
    elif name == "resolve":
        lifecycle.resolve(case, user, form.note.data, version=version)
    elif name == "close":
        lifecycle.close(case, user, Outcome(form.outcome.data), Satisfaction(form.satisfaction.data),
                        form.comment.data or "", version=version)
    elif name in ("return_case", "reopen", "cancel"):
        getattr(lifecycle, name)(case, user, form.reason.data, version=version)
    elif name == "transfer":
        lifecycle.transfer(case, user, form.reason.data,
                           point=db.session.get(ServicePoint, form.point.data) if form.point.data else None,
                           owner=db.session.get(User, form.owner.data) if form.owner.data else None,
                           version=version)
    elif name == "assign":
        lifecycle.assign(case, user, db.session.get(User, form.owner.data) if form.owner.data else None,
                         version=version)
    elif name == "merge":
        lifecycle.merge(case, user, form.original.data, version=version)
    elif name == "no_answer":
        lifecycle.no_answer(case, user, retry_at=aware(form.retry_at.data), note=form.note.data or "",
                            version=version)


@bp.post("/<number>/notes")
@allow(*WORKER_ROLES)
def add_note(number: str):
    """Add an internal or resident-visible note to the timeline."""
    case = _full(number)
    form = TimelineNoteForm()
    if form.validate_on_submit():
        try:
            lifecycle.add_note(case, me(), form.note.data, public=form.public.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            flash(_("Note added."), "success")
            return redirect_to(url_for("cases.show", number=number))
    return _case_page(_full(number), note_form=form, status=422)


@bp.get("/<number>/canned/<int:reply_id>")
@allow(*WORKER_ROLES)
def canned(number: str, reply_id: int):
    """Put a stock phrase into a note field (htmx replaces the field with one holding the text)."""
    case = _load(number)
    reply = db.session.get(CannedReply, reply_id)
    if reply is None or (reply.item_id not in (None, case.item_id)):
        abort(404)
    field = request.args.get("field", "note")
    if field.rsplit("-", 1)[-1] not in ("note", "reason", "comment"):
        abort(404)
    current = request.args.get(field, "").strip()  # hx-include sends the field as it is now
    text = f"{current}\n{reply.text}" if current else reply.text
    return render("cases/_note_field.html", field=field, text=text, target=request.args.get("target", ""))


@bp.route("/<number>/edit", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def edit(number: str):
    """Correct a case's details; a change made by someone else meanwhile is never overwritten."""
    case = _full(number)
    access.require(me(), "case.edit", case, _l("You may not edit this case."))
    form = EditForm(obj=case if request.method == "GET" else None)
    if request.method == "GET":
        form.priority.data = case.priority.value
    status, conflict = 200, False
    if form.validate_on_submit():
        values = {k: form[k].data for k in ("requester_name", "requester_phone", "address", "description")}
        values["priority"] = Priority(form.priority.data)
        try:
            lifecycle.edit(case, me(), values, form.version.data)
        except DomainError as error:
            db.session.rollback()
            if isinstance(error, Conflict) or error.field is None:
                flash(str(error.message), "error")
            else:
                attach_error(form, error)
            status = error.status if error.status in (403, 409) else 422
            case = _full(number)
            form.version.data = case.version
            conflict = isinstance(error, Conflict)
        else:
            flash(_("Saved."), "success")
            return redirect_to(url_for("cases.show", number=number))
    elif request.method == "POST":
        status = 422
    return render("cases/edit.html", case=case, form=form, conflict=conflict, status=status)


@bp.post("/<number>/presence")
@allow_signed_in
def viewing(number: str):
    """Note that the user has the case open, and show who else has (polled by the case page)."""
    case = _load(number)
    presence.touch(case, me())
    return render("cases/_presence.html", case=case, viewers=presence.others(case, me()))


@bp.get("/<number>/receipt")
@allow_signed_in
def receipt(number: str):
    """A printable receipt slip: number, materials checklist, expected date, the point's phone."""
    return render("cases/receipt.html", case=_full(number))


@bp.app_template_global()
def describe_event(event, public: bool = False) -> str:
    return timeline.describe(event, public)


@bp.app_template_global()
def event_actor(event) -> str:
    return timeline.who(event)


@bp.app_template_global()
def office_answer(case):
    """The higher office's latest answer on a case, if it gave one (receipts show a rejection's reason)."""
    answers = [e for e in case.events if e.kind is EventKind.OFFICE_ANSWERED]
    return answers[-1] if answers else None
