"""The home-visit part of a case page: the booked visit, or the form to book one."""
from __future__ import annotations

import sqlalchemy as sa

from portal.cases import page
from portal.domain import access, visits
from portal.domain.cases import messages
from portal.extensions import db
from portal.models import Case, Mode, Team, User
from portal.visits.forms import BookForm
from portal.web.forms import options
from portal.web.i18n import localized


@page.panel
def visit_panel(case: Case, user: User, book_form=None, alternatives=(), **_other_parts) -> dict:
    """The booked visit of a home case, or the form to book one (with the free half-days after a refusal)."""
    if case.mode is not Mode.HOME:
        return {"visit": None, "book_form": None, "alternatives": [], "booking_offer": None}
    visit = visits.active_visit(case)
    may_book = visit is None and access.can(user, "visit.book", case)
    if may_book and book_form is None:
        book_form = BookForm(formdata=None)
    if book_form is not None:
        teams = db.session.scalars(sa.select(Team).where(Team.active).order_by(Team.code))
        book_form.team.choices = options([(None, "—")] + [(t.id, localized(t)) for t in teams])
    return {"visit": visit, "book_form": book_form if may_book else None, "alternatives": list(alternatives),
            "booking_offer": messages.booking_offer(case) if may_book else None}
