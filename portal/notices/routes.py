"""Routes of the notices: the list of a publisher's notices, the form, withdrawing, and the public page
of a current notice."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import access, notices
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import Notice, Place, Role
from portal.notices import bp
from portal.notices.forms import NoticeForm
from portal.web.forms import options
from portal.web.guards import allow, me, public
from portal.web.htmx import redirect_to, render
from portal.web.i18n import localized
from portal.web.navigation import register
from portal.web.submit import submit

PUBLISHERS = (Role.STAFF, Role.BUTLER, Role.LEAD, Role.ADMIN)
register("notices.index", _l("Notices"), _l("Publish notices for kiosks, residents and colleagues."), set(PUBLISHERS))


@bp.app_template_global()
def notice_html(body: str):
    return notices.html(body)


def _form(notice: Notice | None = None, fresh: bool = False) -> NoticeForm:
    """The form, from the request; or, with ``fresh``, from the notice as it is saved."""
    form = NoticeForm(formdata=None, obj=notice) if fresh else NoticeForm(obj=notice)
    allowed = notices.publishable_places(me())
    places = allowed if allowed is not None else db.session.scalars(
        sa.select(Place).where(Place.active).order_by(Place.code)).all()
    form.place.choices = options(([("", _("The whole district"))] if allowed is None else [])
                                 + [(p.code, localized(p)) for p in places])
    if notice is not None and (fresh or not form.is_submitted()):
        form.place.data = notice.place.code if notice.place else ""
        form.version.data = str(notice.version)
    if notice is None and not form.is_submitted():  # a new notice shows for a month from today
        form.valid_from.data = clock.today()
        form.valid_to.data = clock.today() + timedelta(days=30)
    return form


def _chosen_place(form: NoticeForm) -> Place | None:
    if not form.place.data:
        return None
    place = db.session.scalars(sa.select(Place).where(Place.code == form.place.data)).first()
    if place is None:
        abort(400)
    return place


def _notice(notice_id: int) -> Notice:
    return access.load(me(), Notice, notice_id, "notice.edit")


@bp.get("/")
@allow(*PUBLISHERS)
def index():
    """The notices the user manages."""
    return render("notices/index.html", notices=notices.managed_by(me()), today=clock.today())


@bp.route("/new", methods=["GET", "POST"])
@allow(*PUBLISHERS)
def new():
    """Publish a notice for a place the user covers, or the district."""
    form = _form()
    done = submit(form, lambda: notices.publish(me(), form.title.data, form.body.data or "", _chosen_place(form),
                                                form.valid_from.data, form.valid_to.data), "place")
    if done.ok:
        flash(_("The notice is published."), "success")
        return redirect_to(url_for("notices.index"))
    return render("notices/form.html", form=form, notice=None, status=done.status)


@bp.route("/<int:notice_id>/edit", methods=["GET", "POST"])
@allow(*PUBLISHERS)
def edit(notice_id: int):
    """Change a notice; a change made by someone else meanwhile is never overwritten."""
    notice = _notice(notice_id)
    form = _form(notice)
    version = int(form.version.data) if (form.version.data or "").isdigit() else 0
    done = submit(form, lambda: notices.update(me(), notice, version, form.title.data, form.body.data or "",
                                               _chosen_place(form), form.valid_from.data, form.valid_to.data),
                  "place")
    if done.ok:
        flash(_("The notice is saved."), "success")
        return redirect_to(url_for("notices.index"))
    if done.status == 409:  # show the notice as it is now; the flash says what happened
        form = _form(_notice(notice_id), fresh=True)
    return render("notices/form.html", form=form, notice=notice, status=done.status)


@bp.post("/<int:notice_id>/withdraw")
@allow(*PUBLISHERS)
def withdraw(notice_id: int):
    """Withdraw a notice: kiosks and home pages stop showing it."""
    unit.with_retries(lambda: notices.withdraw(me(), _notice(notice_id)))
    flash(_("The notice is withdrawn."), "success")
    return redirect_to(url_for("notices.index"))


@bp.get("/<int:notice_id>")
@public
def show(notice_id: int):
    """A current notice, for anyone (kiosks link here)."""
    notice = db.session.get(Notice, notice_id)
    today = clock.today()
    if notice is None or notice.withdrawn_at is not None or not notice.valid_from <= today <= notice.valid_to:
        abort(404)
    return render("notices/show.html", notice=notice)
