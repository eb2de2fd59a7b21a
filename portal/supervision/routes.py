"""Routes of the supervision area: the lead's list, extensions and supervising a case."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.cases import page
from portal.domain import access
from portal.domain.cases import supervision
from portal.extensions import db
from portal.models import OPEN_STATUSES, Case, ExtensionRequest, Role, User
from portal.supervision import bp
from portal.supervision.forms import DecisionForm, ExtensionForm, SuperviseForm
from portal.supervision.panel import responsible_options
from portal.web.forms import aware
from portal.web.guards import allow, me
from portal.web.htmx import redirect_to, render
from portal.web.navigation import register
from portal.web.submit import submit

register("supervision.index", _l("Supervision"), _l("Problem cases, extensions to decide, overdue cases."),
         {Role.LEAD})

OVERDUE_SHOWN = 100


@bp.get("/")
@allow(Role.LEAD)
def index():
    """The lead's supervision list (督办): problem cases, extensions waiting, overdue cases."""
    overdue = db.session.scalars(
        sa.select(Case).where(access.case_scope(me()), Case.status.in_(OPEN_STATUSES),
                              Case.overdue_flagged_at.is_not(None))
        .options(sa.orm.joinedload(Case.item), sa.orm.joinedload(Case.owner), sa.orm.joinedload(Case.place))
        .order_by(Case.due_at).limit(OVERDUE_SHOWN)
    ).all()
    return render("supervision/index.html", supervisions=supervision.open_supervisions(),
                  extensions=supervision.pending_extensions(), overdue=overdue)


def _back(case: Case):
    return redirect_to(url_for("cases.show", number=case.number) + "#supervision")


@bp.post("/cases/<number>/extension")
@allow(Role.STAFF, Role.PROXY, Role.TEAM, Role.BUTLER, Role.LEAD)
def ask_extension(number: str):
    """The owner asks to move the due time (延期)."""
    case = page.full(number)
    form = ExtensionForm()
    done = submit(form, lambda: supervision.request_extension(case, me(), aware(form.new_due_at.data),
                                                              form.reason.data), "reason")
    if done.ok:
        flash(_("The extension request went to the leads."), "success")
        return _back(case)
    return page.case_page(page.full(number), extension_form=form, status=done.status)


@bp.post("/extensions/<int:request_id>/<decision>")
@allow(Role.LEAD)
def decide(request_id: int, decision: str):
    """A lead approves or refuses an extension."""
    if decision not in ("approve", "refuse"):
        abort(404)
    request_row = access.load(me(), ExtensionRequest, request_id, "extension.view")
    case = request_row.case
    form = DecisionForm(prefix="decision")
    done = submit(form, lambda: supervision.decide_extension(request_row, me(), decision == "approve",
                                                             form.note.data or ""), "note")
    if done.ok:
        flash(_("Extension approved.") if decision == "approve" else _("Extension refused."), "success")
        return _back(case)
    return page.case_page(page.full(case.number), decision_form=form, status=done.status)


@bp.post("/cases/<number>/supervise")
@allow(Role.LEAD)
def supervise(number: str):
    """A lead names who answers for a case and by when (督办)."""
    case = page.full(number)
    form = SuperviseForm()
    form.responsible.choices = responsible_options(case)
    done = submit(form, lambda: supervision.supervise(case, me(), db.session.get(User, form.responsible.data or 0),
                                                      aware(form.deadline.data), form.instruction.data or ""),
                  "instruction")
    if done.ok:
        flash(_("The case is under supervision."), "success")
        return _back(case)
    return page.case_page(page.full(number), supervise_form=form, status=done.status)
