"""Routes of the supervision area: the lead's list, extensions and supervising a case."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.cases.forms import DecisionForm, ExtensionForm, SuperviseForm
from portal.domain import DomainError, access
from portal.domain.cases import supervision
from portal.extensions import db
from portal.models import OPEN_STATUSES, Case, ExtensionRequest, Role, User
from portal.supervision import bp
from portal.web.forms import attach_error, aware
from portal.web.guards import allow, me
from portal.web.htmx import redirect_to, render
from portal.web.navigation import register

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


def _case(number: str) -> Case:
    return access.load_case(number, me())


def _explain(form, error: DomainError, default_field: str) -> int:
    """Show a refusal where the user will see it: next to its field, or at the top of the page (a
    conflict or a refusal about the case as a whole, whose form may no longer be shown)."""
    if error.field is None or error.status in (403, 409):
        flash(str(error.message), "error")
    else:
        attach_error(form, error, default_field=default_field)
    return error.status if error.status in (403, 409) else 422


def _back(case: Case):
    return redirect_to(url_for("cases.show", number=case.number) + "#supervision")


@bp.post("/cases/<number>/extension")
@allow(Role.STAFF, Role.PROXY, Role.TEAM, Role.BUTLER, Role.LEAD)
def ask_extension(number: str):
    """The owner asks to move the due time (延期)."""
    from portal.cases.routes import _case_page, _full

    case = _full(number)
    form = ExtensionForm()
    if form.validate_on_submit():
        try:
            supervision.request_extension(case, me(), aware(form.new_due_at.data), form.reason.data)
        except DomainError as error:
            db.session.rollback()
            status = _explain(form, error, "reason")
        else:
            flash(_("The extension request went to the leads."), "success")
            return _back(case)
    else:
        status = 422
    return _case_page(_full(number), extension_form=form, status=status)


@bp.post("/extensions/<int:request_id>/<decision>")
@allow(Role.LEAD)
def decide(request_id: int, decision: str):
    """A lead approves or refuses an extension."""
    from portal.cases.routes import _case_page, _full

    if decision not in ("approve", "refuse"):
        abort(404)
    request_row = access.load(me(), ExtensionRequest, request_id, "extension.view")
    case = request_row.case
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            supervision.decide_extension(request_row, me(), decision == "approve", form.note.data or "")
        except DomainError as error:
            db.session.rollback()
            status = _explain(form, error, "note")
        else:
            flash(_("Extension approved.") if decision == "approve" else _("Extension refused."), "success")
            return _back(case)
    else:
        status = 422
    return _case_page(_full(case.number), decision_form=form, status=status)


@bp.post("/cases/<number>/supervise")
@allow(Role.LEAD)
def supervise(number: str):
    """A lead names who answers for a case and by when (督办)."""
    from portal.cases.routes import _case_page, _full

    case = _full(number)
    form = SuperviseForm()
    from portal.supervision.panel import responsible_options

    form.responsible.choices = responsible_options(case)
    if form.validate_on_submit():
        try:
            supervision.supervise(case, me(), db.session.get(User, form.responsible.data or 0),
                                  aware(form.deadline.data), form.instruction.data or "")
        except DomainError as error:
            db.session.rollback()
            status = _explain(form, error, "instruction")
        else:
            flash(_("The case is under supervision."), "success")
            return _back(case)
    else:
        status = 422
    return _case_page(_full(number), supervise_form=form, status=status)
