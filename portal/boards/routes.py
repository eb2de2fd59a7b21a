"""Routes of the boards: a board, its wall view, the cases behind a figure, the monthly report and
the wall screens.

A board answers a poll whose ETag still holds with 304 before it builds anything: the ETag is made of
the newest board mark of its scope and of what the page shows (period, language, day, viewer).
"""
from __future__ import annotations

import hashlib
from datetime import date

import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.boards import bp, charts, exports, parts, results_view
from portal.boards.forms import MonthForm, PeriodForm, ResultsForm, ScreenForm
from portal.domain import DomainError, NotFound, access, attendance, heating, sailings
from portal.domain.boards import board, hotspots, periods, scopes
from portal.domain.boards import results as results_report
from portal.domain.boards import shares as shares_report
from portal.domain.boards.report import report_for
from portal.domain.cases import timekeeping
from portal.domain.credentials import wallscreens
from portal.domain.platform import public_address, unit
from portal.extensions import db
from portal.models import PlaceKind, Role, ServicePoint, WallScreen
from portal.web.forms import attach_error, options
from portal.web.guards import allow, allow_signed_in, me, public
from portal.web.htmx import is_htmx, redirect_to, render
from portal.web.i18n import is_english, localized
from portal.web.navigation import register
from portal.web.submit import run, submit

register("boards.index", _l("Boards"), _l("Open, overdue and finished cases and the three rates, by place."),
         {Role.LEAD, Role.ADMIN, Role.STAFF, Role.BUTLER, Role.TEAM, Role.PROXY})

EXPORT_LIMIT = 100_000


@bp.app_template_filter("sparkline")
def sparkline_filter(values):
    return charts.sparkline(values)


def _scope(kind: str, code: str) -> scopes.Scope:
    """The board's scope if the signed-in user may see it; 404 otherwise (as for a case)."""
    try:
        scope = scopes.scope_for(kind, code)
    except NotFound:
        abort(404)
    if not access.can(me(), "board.view", scope):
        abort(404)
    return scope


def _period() -> tuple[PeriodForm, periods.Period, int]:
    """The period asked for in the query string; a wrong one is explained beside its field and the
    board shows this month meanwhile (status 422)."""
    form = PeriodForm(request.args)
    if not form.validate():
        return form, periods.period_for("month"), 422
    try:
        return form, periods.period_for(form.period.data, form.first.data, form.last.data), 200
    except DomainError as error:
        attach_error(form, error)
        return form, periods.period_for("month"), 422


def _etag(scope: scopes.Scope, period: periods.Period, viewer: str, view: str) -> tuple[str, str, board.Stamp]:
    """The ETag of this response, the one its polls will carry (the region alone, rendered for htmx),
    and the scope's stamp (when it last changed)."""
    changed = board.last_change(scope)
    fields = (scope.kind.key, scope.code, period.kind, period.first, period.last, get_locale(), clock.today(), viewer,
          view, changed.token)
    base = hashlib.sha1(":".join(map(str, fields)).encode()).hexdigest()[:20]
    return f"{base}-{'r' if is_htmx() else 'p'}", f"{base}-r", changed


def _not_modified(etag: str):
    response = make_response("", 304)
    return _cacheable(response, etag)


def _cacheable(response, etag: str):
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("HX-Request")
    return response


@bp.get("/")
@allow_signed_in
def index():
    """Leads and admins go to the district; everyone else chooses among their own boards."""
    if access.can(me(), "board.district"):
        return redirect(url_for("boards.board", kind="district", code="all"))
    mine = scopes.boards_of(me())
    if len(mine) == 1:
        kind, subject = mine[0]
        return redirect(url_for("boards.board", kind=kind.key, code=subject.code))
    return render("boards/index.html", mine=mine)


def _opens() -> frozenset[int] | None:
    """The places whose boards the user may open (None: every place), so that no link leads to a 404."""
    return None if access.sees_everything(me()) else access.place_ids(me())


def _crumbs(scope: scopes.Scope) -> list:
    """The places above a place board, from the top."""
    crumbs, place = [], scope.place.parent if scope.place else None
    while place is not None:
        crumbs.insert(0, place)
        place = place.parent
    return crumbs


def _serving_point(place) -> ServicePoint | None:
    """The service point serving a place board's place (or the nearest place above it): its monthly report is the
    place's."""
    seen = set()
    while place is not None and place.id not in seen:
        if place.service_point is not None:
            return place.service_point
        seen.add(place.id)
        place = place.parent
    return None


@bp.get("/<kind>/<code>", endpoint="board")
@allow_signed_in
def show(kind: str, code: str):
    """A board: this period's figures, the trends, the places as tiles, the most overdue cases."""
    scope = _scope(kind, code)
    form, period, status = _period()
    etag, poll_etag, changed = _etag(scope, period, f"user:{me().id}", "board")
    if status == 200 and request.if_none_match.contains(etag):
        return _not_modified(etag)
    built = board.board_for(scope, period, me(), changed)
    days = (attendance.of_point(scope.point, period.first, period.last)
            if scope.kind.attendance and access.can(me(), "attendance.view", scope.point) else None)
    topic = hotspots.topic_of(scope.mark, clock.today().replace(day=1)) if scope.kind.hotspots else None
    opens, chooser = _opens(), access.can(me(), "topic.choose", scope)
    response = render("boards/board.html", "board", board=built, form=form, etag=poll_etag, crumbs=_crumbs(scope),
                      figures=board.FIGURES, changed=changed.at, opens=opens, attendance=days, status=status,
                      topic=topic, progress=hotspots.progress(topic) if topic else None,
                      report_point=scope.point or _serving_point(scope.place),
                      heating_board=heating.board_temperatures(scope.estates), chooser=chooser,
                      parts=_board_parts(scope, period, changed, "board", opens, chooser),
                      lost_sailings=sailings.lost_days(period.first, period.last) if _island(scope) else [])
    return _cacheable(response, etag)


def _island(scope: scopes.Scope) -> bool:
    """Whether a board counts island work, whose off-island days a cancelled sailing takes: the district's, and a
    board of an island point, of the island itself or a place an island point serves, or of a team based on the
    island."""
    if scope.kind is scopes.DISTRICT or (scope.place is not None and scope.place.kind is PlaceKind.ISLAND):
        return True
    point = scope.point or (scope.team.service_point if scope.team else None) or _serving_point(scope.place)
    return bool(point and point.on_island)


def _board_parts(scope: scopes.Scope, period: periods.Period, changed: board.Stamp, view: str,
                 opens: frozenset[int] | None = None, chooser: bool = False) -> parts.Parts:
    """The kept parts of a board (its figures, tiles, trends...) as this request shows them. What of the reader they
    show is in the key: which of its tiles' boards they may open and whether they may choose the month's topic;
    the rest of them (the most overdue cases, the topic, a form's CSRF token) is rendered for each request."""
    links = None if opens is None else frozenset(opens.intersection(scope.tile_ids))
    return parts.parts_for((view, scope.kind.key, scope.code, period.kind, period.first, period.last, links, chooser),
                           changed.token)


@bp.post("/<kind>/<code>/topic")
@allow(Role.LEAD)
def choose_topic(kind: str, code: str):
    """Make one of the board's hotspots this month's topic (每月一题)."""
    scope = _scope(kind, code)
    place, _bar, category = request.form.get("topic", "").partition("|")
    done = run(lambda: hotspots.choose(scope, int(place) if place.isdigit() else 0, category, me(),
                                       request.form.get("note", "")))
    if done.ok:
        flash(_("This month's topic is set; the board follows it."), "success")
    return redirect(url_for("boards.board", kind=kind, code=code), 303)


def _wall(scope: scopes.Scope, viewer, screen: WallScreen | None = None):
    """The wall view: this month's figures, large, every place a tile, for 1920 x 1080 without scrolling."""
    period = periods.period_for("month")
    etag, poll_etag, changed = _etag(scope, period, viewer, "wall")
    if request.if_none_match.contains(etag):
        return _not_modified(etag)
    built = board.board_for(scope, period, me() if screen is None else None, changed, wall=True)
    response = render("boards/wall.html", "wall", board=built, etag=poll_etag, screen=screen, changed=changed.at,
                      parts=_board_parts(scope, period, changed, "wall"))
    return _cacheable(response, etag)


@bp.get("/wall")
@allow_signed_in
def wall():
    """The district's wall view, or a place's with ``?place=<code>``."""
    place = request.args.get("place")
    scope = _scope("place", place) if place else _scope("district", "all")
    return _wall(scope, f"user:{me().id}")


@bp.get("/screen/<token>")
@public
def screen(token: str):
    """A wall screen's own address: the wall view of its board, for as long as the screen is not revoked."""
    found = wallscreens.screen_for(token)
    if found is None:
        return render("boards/screen_gone.html", status=404)
    try:
        scope = scopes.scope_for(found.scope_kind, found.scope_code)
    except NotFound:
        return render("boards/screen_gone.html", status=404)
    response = _wall(scope, f"screen:{found.id}", found)
    wallscreens.seen(found)  # after the page is built: it ends the read transaction
    return response


# --- exports --------------------------------------------------------------------------------------------

@bp.get("/<kind>/<code>/cases.<fmt>")
@allow_signed_in
def export(kind: str, code: str, fmt: str):
    """The cases behind one figure of a board, as CSV (UTF-8 with BOM) or XLSX; names and phones masked."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    scope = _scope(kind, code)
    form, period, status = _period()
    figure = request.args.get("figure", "")
    if status != 200 or figure not in board.FIGURES:
        abort(404)
    query = board.cases_behind(scope, figure, period, me())
    count = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    if count > EXPORT_LIMIT:
        flash(_("%(count)s cases are too many for one file (at most %(limit)s): choose a shorter period.",
                count=count, limit=EXPORT_LIMIT), "error")
        return redirect(url_for("boards.board", kind=kind, code=code, **request.args.to_dict()))
    exports.audit_export(me(), f"{kind}:{code}:{figure}", period, count)
    name = f"{kind}-{code}-{figure}-{period.first:%Y%m%d}-{period.last:%Y%m%d}"
    cases = db.session.execute(exports.rows_of(query).execution_options(yield_per=1000))
    title = f"{board.FIGURES[figure]} {period.first:%Y-%m-%d}—{period.last:%Y-%m-%d}"
    return exports.csv_response(cases, name) if fmt == "csv" else exports.xlsx_response(cases, name, title)


# --- the monthly report -------------------------------------------------------------------------------

@bp.get("/report")
@allow(Role.LEAD, Role.ADMIN, Role.STAFF, Role.BUTLER)
def report():
    """The printable monthly report: the district with a row per service point, or one point."""
    points = [p for p in db.session.scalars(sa.select(ServicePoint).filter_by(active=True).order_by(ServicePoint.code))
              if access.can(me(), "report.view", p)]
    district = access.can(me(), "report.view")
    if not points and not district:
        abort(404)
    form = MonthForm(request.args)
    form.point.choices = options(([(None, _("The whole district"))] if district else [])
                                 + [(p.code, localized(p)) for p in points])
    chosen = form.point.data if district else (form.point.data or points[0].code)
    point = next((p for p in points if p.code == chosen), None)
    if chosen and point is None:
        abort(404)
    status = 200
    month = form.month.data if form.validate() and form.month.data else clock.today()
    if month > clock.today():
        form.month.errors = [_("The report cannot be for a month still to come.")]
        month, status = clock.today(), 422
    form.month.data = date(month.year, month.month, 1)
    # Under the same stamp as the report's numbers (``report_for``): rendered once per change, and then not even
    # its numbers are needed.
    changed = board.last_change(["all"] if point is None else [scopes.POINT.mark_of(point.id)])
    kept = parts.parts_for(("report", form.month.data, point.id if point else None), changed.token)
    report = None if kept.has("report") else report_for(month, point)
    lost = (sailings.lost_days(periods.month_period(month).first, min(periods.month_period(month).last, clock.today()))
            if point is None or point.on_island else [])
    return render("boards/report.html", report=report, point=point, parts=kept, form=form, status=status,
                  lost_sailings=lost)


# --- the results report and everyone's share (issue 34.4-34.5) ------------------------------------------------

def _results_scope(kind: str, code: str) -> scopes.Scope:
    """The board's scope if the signed-in user is one of its leads; 404 otherwise (as for a board)."""
    scope = _scope(kind, code)
    if not access.can(me(), "results.view", scope):
        abort(404)
    return scope


def _results_period(default: periods.Period) -> tuple[ResultsForm, periods.Period, int]:
    """The days asked for (year to date when none); a wrong one is explained beside its field and the report shows
    the year to date meanwhile (status 422)."""
    form = ResultsForm(request.args)
    if not request.args.get("first") and not request.args.get("last"):
        form.first.data, form.last.data = default.first, default.last
        return form, default, 200
    if not form.validate():
        return form, default, 422
    try:
        return form, periods.period_for("custom", form.first.data, form.last.data), 200
    except DomainError as error:
        attach_error(form, error)
        return form, default, 422


def _printed() -> str:
    return _("Printed %(when)s by %(who)s.", when=clock.local(clock.now()).strftime("%Y-%m-%d %H:%M"),
             who=me().display_name)


@bp.get("/<kind>/<code>/results")
@allow(Role.LEAD, Role.ADMIN)
def results(kind: str, code: str):
    """The results report of a board's scope for any period (year to date by default), beside the year before."""
    scope = _results_scope(kind, code)
    form, period, status = _results_period(results_report.year_to_date())
    report = results_report.results(scope, period, timekeeping.calendar_for, english=is_english())
    return render("boards/results.html", report=report, sections=results_view.sections(report), form=form,
                  headers=results_view.header_parts(report), title=results_view.title(report),
                  period_text=results_view.period_text(report), status=status)


def _results_file(kind: str, code: str, fmt: str):
    scope = _results_scope(kind, code)
    form, period, status = _results_period(results_report.year_to_date())
    if status != 200:
        abort(404)
    report = results_report.results(scope, period, timekeeping.calendar_for, english=is_english())
    write = results_view.docx_bytes if fmt == "docx" else results_view.xlsx_bytes
    name = f"{_('results')}-{kind}-{code}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.{fmt}"
    return results_view.download(write(report, _printed()), name, fmt)


@bp.get("/<kind>/<code>/results.docx")
@allow(Role.LEAD, Role.ADMIN)
def results_docx(kind: str, code: str):
    """The results report as a Word document (A4), as it goes upward."""
    return _results_file(kind, code, "docx")


@bp.get("/<kind>/<code>/results.xlsx")
@allow(Role.LEAD, Role.ADMIN)
def results_xlsx(kind: str, code: str):
    """The results report as an Excel workbook."""
    return _results_file(kind, code, "xlsx")


@bp.get("/<kind>/<code>/shares")
@allow(Role.LEAD, Role.ADMIN)
def shares(kind: str, code: str):
    """Everyone's share of a board's scope in a period (year to date by default): each proxy, butler and team."""
    scope = _results_scope(kind, code)
    form, period, status = _results_period(results_report.year_to_date())
    found = shares_report.shares(scope, period)
    return render("boards/shares.html", form=form, status=status, **results_view.shares_context(found))


# --- wall screens ---------------------------------------------------------------------------------------

def _screen_form() -> ScreenForm:
    form = ScreenForm()
    places = scopes.Places()
    form.place.choices = options(([("", _("The whole district"))] if access.can(me(), "board.district") else [])
                                 + [(p.code, localized(p)) for p in places.all.values()
                                    if p.active and access.covers(me(), p.id)])
    return form


@bp.get("/screens")
@allow(Role.LEAD, Role.ADMIN)
def screens():
    """The wall screens of the boards the user sees, and the form to add one."""
    return _screens_page(_screen_form(), None)


def _screens_page(form: ScreenForm, address: str | None, status: int = 200):
    places = {p.code: p for p in scopes.Places().all.values()}
    return render("boards/screens.html", form=form, screens=wallscreens.screens(me()), places=places,
                  kinds=scopes.KINDS, address=address, status=status)


@bp.post("/screens")
@allow(Role.LEAD, Role.ADMIN)
def create_screen():
    """Give a wall screen its secret address, for a board the lead sees (shown once)."""
    form = _screen_form()
    scope = lambda: scopes.scope_for("place", form.place.data) if form.place.data \
        else scopes.scope_for("district", "all")  # noqa: E731
    done = submit(form, lambda: wallscreens.create_screen(me(), form.name.data, scope()), "place")
    if done.ok:
        _screen, token = done.value
        address = public_address.url("boards.screen", token=token) or url_for("boards.screen", token=token)
        flash(_("The screen's address is below. Open it on the screen; it is shown only this once."), "success")
        return _screens_page(_screen_form(), address)
    return _screens_page(form, None, 422)


@bp.post("/screens/<int:screen_id>/revoke")
@allow(Role.LEAD, Role.ADMIN)
def revoke_screen(screen_id: int):
    """Revoke a wall screen's address: the screen shows nothing from its next poll."""
    found = access.load(me(), WallScreen, screen_id, "screen.revoke")
    unit.with_retries(lambda: wallscreens.revoke_screen(me(), found))
    flash(_("The screen %(name)s no longer shows the board.", name=found.name), "success")
    return redirect_to(url_for("boards.screens"))
