"""The case page, built in one place: the case, its timeline, the actions its viewer may take, and the panels
that other areas plug into it (supervision, the home visit). Every route that shows the case page again
(after a refused action, with a form's errors) asks ``case_page`` here."""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from portal.cases.forms import ACTION_FORMS, TimelineNoteForm
from portal.domain import access
from portal.domain.cases import lifecycle, presence, replies
from portal.domain.platform import outbox
from portal.extensions import db
from portal.models import CannedReply, Case, CaseEvent, Mode, ServicePoint
from portal.web import arg_id
from portal.web.forms import UploadForm, options
from portal.web.guards import me
from portal.web.htmx import render
from portal.web.i18n import localized


def load(number: str, *options) -> Case:
    return access.load_case(number, me(), options)


def full(number: str) -> Case:
    return load(
        number,
        joinedload(Case.item), joinedload(Case.place), joinedload(Case.owner), joinedload(Case.service_point),
        joinedload(Case.household), joinedload(Case.merged_into), joinedload(Case.team), joinedload(Case.resident),
        selectinload(Case.events).joinedload(CaseEvent.actor), selectinload(Case.attachments),
    )


def for_action(number: str) -> Case:
    """The case with what a lifecycle step reads (its item, places, team and owner), not what its page shows."""
    return load(number, joinedload(Case.item), joinedload(Case.place), joinedload(Case.owner),
                joinedload(Case.service_point), joinedload(Case.team))


def action_forms(case: Case, submitted: dict | None = None) -> dict:
    """One form per action the user may take; a submitted one keeps its input and errors."""
    forms = {}
    candidates = None
    for transition in lifecycle.available(case, me()):
        name = transition.name
        if case.mode is Mode.ERRAND and transition.on_errand_page:
            continue  # these move documents too: they are done on the errand page
        form = (submitted or {}).get(name) or ACTION_FORMS[name](formdata=None, prefix=name, version=case.version)
        prefill_canned(form)
        if name in ("transfer", "assign"):
            if candidates is None:
                candidates = options([(None, _("— choose —"))] + [
                    (u.id, f"{u.display_name}（{u.role.label}）") for u in access.cases.who_may_take(case) if u.id != case.owner_id])
            form.owner.choices = candidates
            if name == "transfer":
                points = db.session.scalars(sa.select(ServicePoint).where(ServicePoint.active)
                                            .order_by(ServicePoint.code))
                form.point.choices = options([(None, _("— choose —"))] + [
                    (p.id, localized(p)) for p in points if p.id != case.service_point_id])
        forms[name] = (transition, form)
    return forms


def prefill_canned(form) -> None:
    """Without JavaScript a canned-reply chip is a link back to the page naming the reply and the
    field; the field comes back holding the phrase."""
    reply_id, field = arg_id("canned"), request.args.get("field", "")
    if not reply_id or not field:
        return
    for candidate in form:
        if candidate.name == field:
            reply = db.session.get(CannedReply, reply_id)
            if reply is not None and replies.offered(reply, field):
                candidate.data = reply.text


# The parts of the case page that other areas own (a home case's visit, supervision): each registers itself with
# ``@panel``, so that this page imports none of them and a new part touches no line here.
PANELS: list[Callable[..., dict]] = []


def panel(build: Callable[..., dict]) -> Callable[..., dict]:
    """Register a part of the case page: ``build(case, user, **forms)`` returns what its part of the template
    shows; a form of the part that was just submitted comes back in ``forms`` (by its name), to show its errors.
    A part takes the forms it knows and leaves the others."""
    PANELS.append(build)
    return build


def case_page(case: Case, submitted: dict | None = None, note_form=None, status: int = 200, upload_form=None,
              **panel_forms):
    """The case page; a form just submitted (an action's, the note's, a panel's) is shown with its errors."""
    timeline = request.args.get("timeline", "all")
    events = case.events
    if timeline == "public":
        events = [e for e in events if e.public]
    elif timeline == "internal":
        events = [e for e in events if not e.public]
    return render(
        "cases/case.html", case=case, events=list(reversed(events)), timeline=timeline,
        actions=action_forms(case, submitted), note_form=note_form or blank_note_form(),
        canned=replies.for_case(case), viewers=presence.others(case, me()),
        **{name: value for build in PANELS for name, value in build(case, me(), **panel_forms).items()},
        may_note=access.can(me(), "case.note", case),
        may_attach=access.can(me(), "case.attach", case),
        upload_form=upload_form or UploadForm(formdata=None),
        no_sms=outbox.opted_out(case.requester_phone) if case.requester_phone else True,
        may_edit=access.can(me(), "case.edit", case),
        status=status,
    )


def blank_note_form() -> TimelineNoteForm:
    form = TimelineNoteForm(formdata=None)
    prefill_canned(form)
    return form


