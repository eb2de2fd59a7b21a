"""Routes of the cases area: queues, the case page and its actions, receipts, presence, the badge."""
from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask import abort, flash, get_flashed_messages, make_response, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal.cases import bp, page, timeline
from portal.cases.forms import ACTION_FORMS, EditForm, TimelineNoteForm
from portal.domain import Conflict, access
from portal.domain.cases import attachments, lifecycle, presence, queues, replies
from portal.domain.platform import files, notify, public_address, snapshot, unit
from portal.extensions import db
from portal.models import (
    Attachment,
    CannedReply,
    Case,
    CaseStatus,
    Channel,
    EventKind,
    Mode,
    Place,
    Priority,
    ServicePoint,
)
from portal.web.forms import UploadForm
from portal.web.guards import ANYONE_SIGNED_IN, allow, allow_signed_in, me
from portal.web.htmx import is_htmx, redirect_to, render
from portal.web.navigation import register
from portal.web.qr import qr_svg
from portal.web.submit import run, submit

WORKER_ROLES = tuple(access.WORKERS)
register("cases.queue", _l("Cases"), _l("Your queues: yours, to claim, your point's, overdue."), ANYONE_SIGNED_IN, rank=20)


# --- queues ---------------------------------------------------------------------------------------

@bp.get("/")
@allow_signed_in
def queue():
    """Show a queue of cases with its tabs, filters, search, sorting and pages."""
    user = me()
    tabs = queues.tabs_for(user)
    # htmx asks for one part: the tabs (their counts, after a case changed in place), the results (the
    # filters changed: the form itself stays, with the cursor in it), or the whole queue (another tab).
    part = QUEUE_PARTS.get(request.headers.get("HX-Target", ""), "queue")
    counts = queues.counts(user) if part in ("queue", "tabs") else {}
    # A tab the user picked (it is in the URL) is kept, empty or not; otherwise the first tab with work.
    tab = request.args.get("tab")
    if tab not in {t.key for t in tabs}:
        tab = queues.default_tab(user, counts or queues.counts(user))
    default_sort = queues.DEFAULT_SORT.get(tab, "new")
    filters = queues.Filters.from_args(request.args, default_sort)
    if part == "tabs":
        return render("cases/queue.html", part, tabs=tabs, tab=tab, counts=counts, cap=queues.COUNT_CAP)
    page = queues.page_of(user, tab, filters)
    places = db.session.execute(sa.select(Place.id, Place.code, Place.name_zh, Place.name_en)
                                .where(access.cases.place_choices(user))).all()
    return render(
        "cases/queue.html", part, tabs=tabs, tab=tab, counts=counts,
        filters=filters, page=page, categories=snapshot.catalog().categories, places=sorted(places, key=lambda p: p.code),
        channels=list(Channel), sorts=queues.SORTS, statuses=list(CaseStatus), default_sort=default_sort,
        cap=queues.COUNT_CAP,
    )


QUEUE_PARTS = {"queue-tabs": "tabs", "queue-results": "results"}
# The badge links to the list it counts (every page's header includes it).
bp.add_app_template_global(queues.todo_list, "todo_list")


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

@bp.get("/<number>")
@allow_signed_in
def show(number: str):
    """Show a case: details, timeline, materials, and the actions the user may take."""
    return page.case_page(page.full(number))


@bp.post("/<number>/id-number")
@allow_signed_in
def reveal_id_number(number: str):
    """Show the requester's full ID number, on an explicit click, and write down who saw it."""
    case = page.load(number, joinedload(Case.resident))
    if case.resident is None or not case.resident.id_number:
        abort(404)
    access.cases.reveal_id_number(me(), case)
    response = render("cases/id_number.html", "revealed", full=case.resident.id_number, case=case)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<number>/act/<name>")
@allow(*WORKER_ROLES)
def act(number: str, name: str):
    """Take one action of the lifecycle on a case."""
    if name not in ACTION_FORMS:  # not a transition, or not one of the case page
        abort(404)
    transition = lifecycle.TRANSITIONS[name]
    case = page.for_action(number)  # a step done redirects: the page is built only to show a refusal
    if case.mode is Mode.ERRAND and transition.on_errand_page:
        abort(404)
    form = ACTION_FORMS[name](prefix=name)
    if name in ("transfer", "assign"):
        form.owner.choices = [(u.id, u.display_name) for u in access.cases.who_may_take(case)]
    if name == "transfer":
        form.point.choices = [(p.id, p.code) for p in db.session.scalars(sa.select(ServicePoint))]
    done = submit(form, lambda: transition.service(case, me(), **form.arguments()))
    row = request.form.get("row") if is_htmx() else None
    if done.ok:
        if row:  # the row changes in place; the tab counts and the badge follow (the "cases-changed" event)
            response = render("cases/_row.html", case=_line(number), tab=row)
            response.headers["HX-Trigger"] = "cases-changed"
            return response
        flash(_("Done: %(action)s.", action=transition.label), "success")
        return redirect_to(url_for("cases.show", number=number))
    if row:
        messages = get_flashed_messages(category_filter=["error"])
        return render("cases/_row.html", case=_line(number), tab=row, status=done.status,
                      row_error=messages[0] if messages else None)
    case = page.full(number)
    form.version.data = case.version  # what was typed stays; the page now shows the latest state
    return page.case_page(case, submitted={name: form}, status=done.status)


def _line(number: str):
    """The case as a row of the queue, shown again in place after an action on the row; 404 once not in sight."""
    found = queues.line(me(), number)
    if found is None:
        abort(404)
    return found


@bp.post("/<number>/notes")
@allow(*WORKER_ROLES)
def add_note(number: str):
    """Add an internal or resident-visible note to the timeline."""
    case = page.full(number)
    form = TimelineNoteForm()
    done = submit(form, lambda: lifecycle.add_note(case, me(), form.note.data, public=form.public.data), "note")
    if done.ok:
        flash(_("Note added."), "success")
        return redirect_to(url_for("cases.show", number=number))
    return page.case_page(page.full(number), note_form=form, status=done.status)


@bp.post("/<number>/no-sms")
@allow(*WORKER_ROLES)
def stop_messages(number: str):
    """The resident wants no more SMS (said at the counter or on the phone): stop every message to their number."""
    case = page.load(number)
    done = run(lambda: lifecycle.stop_messages(case, me()))
    if done.ok:
        flash(_("No more SMS will be sent to %(phone)s.", phone=case.requester_phone), "success")
    return redirect_to(url_for("cases.show", number=number))


@bp.post("/<number>/files")
@allow(*WORKER_ROLES)
def upload(number: str):
    """Keep a photo (from the phone's camera) or a file with the case."""
    case = page.load(number)
    form = UploadForm()
    done = submit(form, lambda: attachments.attach(case, me(), form.file.data.filename,
                                                   form.file.data.read(files.MAX_BYTES + 1)), "file")
    if done.ok:
        flash(_("%(name)s is kept with the case.", name=done.value.filename), "success")
        return redirect_to(url_for("cases.show", number=number))
    return page.case_page(page.full(number), upload_form=form, status=done.status)


@bp.get("/files/<int:attachment_id>")
@allow(*WORKER_ROLES)
def attachment(attachment_id: int):
    """Open a kept photo or file (only for those who may see its case)."""
    row = access.load(me(), Attachment, attachment_id, "attachment.view")
    return _file(row.sha256, row.content_type, row.filename, inline=row.content_type != "application/pdf")


@bp.get("/files/<int:attachment_id>/thumbnail")
@allow(*WORKER_ROLES)
def thumbnail(attachment_id: int):
    """A photo's small JPEG, for the case page."""
    row = access.load(me(), Attachment, attachment_id, "attachment.view")
    if row.thumb_sha256 is None:
        abort(404)
    return _file(row.thumb_sha256, "image/jpeg", f"{row.filename}.jpg", inline=True)


def _file(digest: str, mimetype: str, name: str, inline: bool):
    """A kept file, never cached, never run as a page (sandboxed whatever it holds)."""
    response = send_file(files.verified(digest), mimetype=mimetype, as_attachment=not inline, download_name=name,
                         max_age=0, etag=False, last_modified=None, conditional=False)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@bp.get("/<number>/canned/<int:reply_id>")
@allow(*WORKER_ROLES)
def canned(number: str, reply_id: int):
    """Put a stock phrase into a note field (htmx replaces the field with one holding the text)."""
    case = page.load(number)
    field = request.args.get("field", "note")
    if not replies.fits(db.session.get(CannedReply, reply_id), case, field):
        abort(404)
    reply = db.session.get(CannedReply, reply_id)
    if field.rsplit("-", 1)[-1] not in ("note", "reason", "comment"):
        abort(404)
    current = request.args.get(field, "").strip()  # hx-include sends the field as it is now
    text = f"{current}\n{reply.text}" if current else reply.text
    return render("cases/_note_field.html", field=field, text=text, target=request.args.get("target", ""))


@bp.route("/<number>/edit", methods=["GET", "POST"])
@allow(*WORKER_ROLES)
def edit(number: str):
    """Correct a case's details; a change made by someone else meanwhile is never overwritten."""
    case = page.full(number)
    access.require(me(), "case.edit", case, _l("You may not edit this case."))
    form = EditForm(obj=case if request.method == "GET" else None)
    if request.method == "GET":
        form.priority.data = case.priority.value
    values = lambda: {**{k: form[k].data for k in ("requester_name", "requester_phone", "address", "description")},  # noqa: E731
                      "priority": Priority(form.priority.data)}
    done = submit(form, lambda: lifecycle.edit(case, me(), values(), form.version.data))
    if done.ok:
        flash(_("Saved."), "success")
        return redirect_to(url_for("cases.show", number=number))
    conflict, status = isinstance(done.error, Conflict), done.status
    if done.error is not None:
        case = page.full(number)
        form.version.data = case.version
    return render("cases/edit.html", case=case, form=form, conflict=conflict, status=status)


@bp.post("/<number>/presence")
@allow_signed_in
def viewing(number: str):
    """Note that the user has the case open, and show who else has (polled by the case page)."""
    case = page.load(number)
    unit.with_retries(lambda: presence.touch(case, me()))
    return render("cases/_presence.html", case=case, viewers=presence.others(case, me()))


@bp.get("/<number>/receipt")
@allow_signed_in
def receipt(number: str):
    """A printable receipt slip: number, materials checklist, expected date, the point's phone, and where
    the resident looks the case up (the address, and a QR code of it with the number filled in)."""
    lookup = public_address.url("lookup.index")  # None while no public address is set: no QR to nowhere
    return render("cases/receipt.html", case=page.full(number), lookup=lookup,
                  lookup_qr=qr_svg(f"{lookup}?number={number}") if lookup else None)


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
