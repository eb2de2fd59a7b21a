"""The supervision part of a case page: the pending extension, and the forms the user may use."""
from __future__ import annotations

import sqlalchemy as sa

from portal.cases.forms import DecisionForm, ExtensionForm, SuperviseForm
from portal.domain import supervision
from portal.extensions import db
from portal.models import Case, CaseStatus, Role, Supervision, User
from portal.web.forms import options


def responsible_options():
    people = db.session.scalars(
        sa.select(User).where(User.active, User.role.in_([Role.STAFF, Role.PROXY, Role.TEAM, Role.BUTLER, Role.LEAD]))
        .order_by(User.role, User.display_name)
    )
    return options([(None, "—")] + [(u.id, f"{u.display_name}（{u.role.label}）") for u in people])


def panel(case: Case, user: User, extension_form=None, decision_form=None, supervise_form=None) -> dict:
    """What the case page shows about extensions and supervision for ``user``."""
    pending = supervision.pending_extension(case)
    may_ask = (case.owner_id == user.id and case.status.is_open and case.status is not CaseStatus.LOGGED
               and pending is None)
    is_lead = user.role is Role.LEAD
    if is_lead and supervise_form is None:
        supervise_form = SuperviseForm(formdata=None)
    if supervise_form is not None:
        supervise_form.responsible.choices = responsible_options()
    return {
        "pending_extension": pending,
        "extension_form": (extension_form or ExtensionForm(formdata=None)) if may_ask else None,
        "decision_form": (decision_form or DecisionForm(formdata=None)) if is_lead and pending else None,
        "supervise_form": supervise_form if is_lead and (case.status.is_open or case.status is CaseStatus.RESOLVED)
        else None,
        "supervision": db.session.scalars(sa.select(Supervision).filter_by(case_id=case.id)).first(),
    }
