"""Routes of the public lookup. Nothing here needs a login; a case is shown only to whoever gives its
number and the last four digits of its phone, and guesses are throttled (``domain/lookup``)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, request
from flask_babel import gettext as _

from portal.domain import heating, lookup, notices, visits
from portal.domain.cases import answers, lifecycle, links
from portal.extensions import db
from portal.lookup import bp
from portal.lookup.forms import AnswerForm, LookupForm, RatingForm
from portal.models import Case, Channel, Household, Outcome, Place, Satisfaction, Slot
from portal.web import client_address
from portal.web.guards import public
from portal.web.htmx import render
from portal.web.submit import run


def _place(code: str | None) -> Place | None:
    if not code:
        return None
    return db.session.scalars(sa.select(Place).where(Place.code == code, Place.active)).first()


def _page(form: LookupForm, status: int = 200, **extra):
    place = _place(form.place.data or request.args.get("place"))
    return render("lookup/index.html", form=form, place=place, notices=notices.current(place), status=status,
                  **extra)


def _case_page(case: Case, form: LookupForm, rating: RatingForm | None = None, status: int = 200,
               problem: str | None = None):
    rateable = case.channel in (Channel.KIOSK, Channel.WECHAT) and case.status.value == "resolved"
    if rating is None and rateable:
        rating = RatingForm(formdata=None, number=case.number, last_four=form.last_four.data, place=form.place.data)
    return render("lookup/case.html", case=case, form=form, rating=rating if rateable else None,
                  events=lookup.public_events(case), status=status, problem=problem, visit=visits.active_visit(case))


@bp.after_request
def never_cached(response):
    """A kiosk's browser is shared: keep no page of the lookup in any cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def public_note(text: str) -> str:
    return lookup.public_note(text)


@bp.get("/")
@public
def index():
    """The lookup form, and the notices of the kiosk's place (``?place=H01``)."""
    form = LookupForm(formdata=None, place=request.args.get("place", ""), number=request.args.get("number", "")[:40])
    return _page(form)


@bp.post("/")
@public
def find():
    """Find a case by its number and the last four digits of the phone (throttled)."""
    form = LookupForm()
    if not form.validate():
        return _page(form, 422)
    done = run(lambda: lookup.find(form.number.data, form.last_four.data, client_address()), form, "number")
    return _case_page(done.value, form) if done.ok else _page(form, done.status)


@bp.post("/rate")
@public
def rate():
    """A resident rates a resolved kiosk or WeChat case (others are rated by the point's callback)."""
    form = RatingForm()
    found = run(lambda: lookup.find(form.number.data, form.last_four.data, client_address()), form, "number")
    if not found.ok:
        return _page(form, found.status)
    case = found.value
    if not form.validate():
        return _case_page(case, form, form, 422)
    done = run(lambda: lifecycle.rate_by_resident(case, Outcome(form.outcome.data), Satisfaction(form.satisfaction.data),
                                                  form.comment.data or ""), say=False)
    if not done.ok:
        return _case_page(lookup.find(form.number.data, form.last_four.data, client_address()), form,
                          status=422, problem=str(done.error.message))
    return render("lookup/case.html", case=case, form=form, rating=None, events=lookup.public_events(case),
                  thanks=_("Thank you for rating our service."), visit=visits.active_visit(case))


@bp.route("/r/<token>", methods=["GET", "POST"])
@public
def answer(token: str):
    """The page of the link sent with a case's result: the resident says whether it was solved and how
    satisfied they are, once, while the link holds (``domain/cases/answers``)."""
    case = links.case_of(token, "answer")
    if case is None:
        return render("lookup/answer.html", case=None, form=None, status=404)
    form = AnswerForm()
    if not answers.open_for_answer(case):
        return render("lookup/answer.html", case=case, form=None, events=lookup.public_events(case))
    if request.method == "GET" or not form.validate():
        return render("lookup/answer.html", case=case, form=form, events=lookup.public_events(case),
                      status=200 if request.method == "GET" else 422)
    done = run(lambda: lifecycle.answer_by_resident(case, Outcome(form.outcome.data),
                                                    Satisfaction(form.satisfaction.data), form.comment.data or ""),
               form, "comment")
    return render("lookup/answer.html", case=case, form=None if done.ok else form, answered=done.ok,
                  events=lookup.public_events(case), status=done.status)


@bp.route("/v/<token>", methods=["GET", "POST"])
@public
def book(token: str):
    """The page of the link sent with a home-visit case: the resident chooses the half-day the team comes, among
    the team's free ones before the case is due (``visits.book_by_resident``)."""
    case = links.case_of(token, "book")
    if case is None:
        return render("lookup/book.html", case=None, status=404)
    booked, problem, status = visits.active_visit(case), None, 200
    if request.method == "POST" and booked is None:
        day, _bar, slot = request.form.get("pick", "").partition("|")
        try:
            chosen = (date.fromisoformat(day), Slot(slot))
        except ValueError:
            chosen = None
        done = run(lambda: visits.book_by_resident(case, *chosen), say=False) if chosen else None
        if done is not None and done.ok:
            booked = done.value
        else:
            problem, status = (str(done.error.message) if done else _("Choose the half-day the team comes.")), 422
    bookable = visits.bookable_by_resident(case)
    return render("lookup/book.html", case=case, booked=booked, problem=problem, status=status,
                  slots=visits.resident_slots(case) if bookable and not booked else [], open=bookable)


@bp.get("/h/<code>")
@public
def household(code: str):
    """The page a convenience card's QR code opens: who to call, the notices of the estate, the lookup."""
    found = db.session.scalars(sa.select(Household).where(Household.code == code, Household.active)).first()
    if found is None:
        abort(404)
    place = found.place
    form = LookupForm(formdata=None, place=place.code)
    return render("lookup/household.html", place=place, butler=heating.butler_of(place), form=form,
                  point=place.service_point, notices=notices.current(place),
                  incident=heating.open_incident(place))
