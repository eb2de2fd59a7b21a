"""The supervision part of a case page: the pending extension, and the forms the user may use."""
from __future__ import annotations

import sqlalchemy as sa

from portal.cases import page
from portal.domain import access
from portal.domain.cases import supervision
from portal.extensions import db
from portal.models import Case, Supervision, User
from portal.supervision.forms import DecisionForm, ExtensionForm, SuperviseForm
from portal.web.forms import options


def responsible_options(case: Case):
    """The people a lead may make answer for the case: those whose own scope holds it."""
    people = db.session.scalars(sa.select(User).where(access.cases.takers(case)).order_by(User.role, User.display_name))
    return options([(None, "—")] + [(u.id, f"{u.display_name}（{u.role.label}）") for u in people])


@page.panel
def panel(case: Case, user: User, extension_form=None, decision_form=None, supervise_form=None,
          **_other_parts) -> dict:
    """What the case page shows about extensions and supervision for ``user``."""
    pending = supervision.pending_extension(case)
    may_ask = pending is None and access.can(user, "extension.ask", case)
    may_supervise = access.can(user, "case.supervise", case)
    if may_supervise and supervise_form is None:
        supervise_form = SuperviseForm(formdata=None)
    if supervise_form is not None:
        supervise_form.responsible.choices = responsible_options(case)
    return {
        "pending_extension": pending,
        "extension_form": (extension_form or ExtensionForm(formdata=None)) if may_ask else None,
        "decision_form": (decision_form or DecisionForm(formdata=None, prefix="decision"))
        if pending is not None and access.can(user, "extension.decide", pending) else None,
        "supervise_form": supervise_form if may_supervise else None,
        "supervision": db.session.scalars(sa.select(Supervision).filter_by(case_id=case.id)).first(),
    }
