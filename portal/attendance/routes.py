"""Routes of the "3+2" week: a member's days, the offices' weeks, corrections, the monthly assessment."""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import clock, spreadsheets
from portal.attendance import bp
from portal.attendance.forms import CorrectionForm, DayForm, MonthForm, WeekForm
from portal.domain import access, attendance
from portal.models import AttendanceKind, Role
from portal.web.forms import options
from portal.web.guards import allow, me
from portal.web.htmx import redirect_to, render
from portal.web.i18n import localized
from portal.web.navigation import register
from portal.web.submit import submit

register("attendance.mine", _l("My days on the island"), _l("The 3+2 week: your days, and a missed day filled in."),
         {Role.STAFF}, when="attendance.record")
register("attendance.weeks", _l("Days on the island"),
         _l("Each office's week on the island, who fell short, corrections and the monthly assessment."),
         {Role.LEAD, Role.ADMIN}, when="attendance.assess")

LETTERS = {"W": _l("On the island"), "O": _l("Off-island day"), "R": _l("Rest day"),
           "S": _l("No sailing (not counted)")}


def _mine_page(form: DayForm, status: int = 200):
    user = me()
    days = [clock.today() - timedelta(days=n) for n in range(14)]
    letters = {day: attendance.kind_of_day(user, day) for day in days}
    records = {day: attendance.day_of(user, day) for day in days}
    return render("attendance/mine.html", days=days, letters=letters, records=records, form=form, labels=LETTERS,
                  oldest=clock.today() - timedelta(days=attendance.FILL_IN_DAYS), status=status)


@bp.get("/")
@allow(Role.STAFF)
def mine():
    """A member's days of the last two weeks, and the form to fill in a missed one."""
    if not access.can(me(), "attendance.record"):
        abort(403)
    return _mine_page(DayForm())


@bp.post("/")
@allow(Role.STAFF)
def record_day():
    """Record a day (today, or a missed day of the last week), once."""
    form = DayForm()
    done = submit(form, lambda: attendance.record(me(), AttendanceKind(form.kind.data), form.day.data), "day")
    if done.ok:
        flash(_("%(day)s: %(kind)s.", day=form.day.data.isoformat(), kind=done.value.kind.label), "success")
        return redirect_to(url_for("attendance.mine"))
    return _mine_page(form, done.status or 422)


def _week_page(monday: date, correction: CorrectionForm | None = None, status: int = 200):
    week = attendance.week(monday)
    correction = correction or CorrectionForm(formdata=None)
    people = [p.user for office in week.offices for p in office.people]
    correction.member.choices = options([(None, _("— choose —"))] + [
        (u.id, f"{u.display_name} · {localized(u.office) or _('No office')}") for u in people
        if access.can(me(), "attendance.correct", u)])
    return render("attendance/weeks.html", week=week, form=WeekForm(formdata=None, week=week.monday),
                  correction=correction, previous=week.monday - timedelta(days=7),
                  following=week.monday + timedelta(days=7), labels=LETTERS, minimum=attendance.WEEKLY_MINIMUM,
                  may_correct=len(correction.member.choices) > 1, today=clock.today(), status=status)


@bp.get("/weeks")
@allow(Role.LEAD, Role.ADMIN)
def weeks():
    """Each office's week on the island: each person's days, who fell short, the days each office was there."""
    if not access.can(me(), "attendance.assess"):
        abort(403)
    form = WeekForm(request.args)
    chosen = form.week.data if form.validate() and form.week.data else clock.today() - timedelta(days=7)
    return _week_page(min(chosen, clock.today()))


@bp.post("/corrections")
@allow(Role.LEAD)
def correct():
    """A lead corrects someone's day (or fills it in), with a reason; the audit log keeps it."""
    if not access.can(me(), "attendance.assess"):
        abort(403)
    form = CorrectionForm()
    people = {u.id: u for u in attendance.staff()}
    form.member.choices = options([(None, "")] + [(uid, u.display_name) for uid, u in people.items()])
    done = submit(form, lambda: attendance.correct(me(), people[form.member.data], form.day.data,
                                                   AttendanceKind(form.kind.data), form.reason.data), "reason")
    if done.ok:
        flash(_("%(name)s, %(day)s: %(kind)s (corrected).", name=people[form.member.data].display_name,
                day=form.day.data.isoformat(), kind=done.value.kind.label), "success")
        return redirect_to(url_for("attendance.weeks", week=form.day.data.isoformat()))
    monday = form.day.data if form.day.data else clock.today()
    return _week_page(monday, form, done.status or 422)


@bp.get("/assessment")
@allow(Role.LEAD, Role.ADMIN)
def assessment():
    """The monthly assessment per office and person, printable; ``?format=xlsx`` for the spreadsheet."""
    if not access.can(me(), "attendance.assess"):
        abort(403)
    form = MonthForm(request.args)
    status = 200
    month = form.month.data if form.validate() and form.month.data else clock.today()
    if month > clock.today():
        form.month.errors = [_("The assessment cannot be for a month still to come.")]
        month, status = clock.today(), 422
    form.month.data = month.replace(day=1)
    result = attendance.assessment(month)
    if request.args.get("format") == "xlsx" and status == 200:
        return _xlsx(result)
    return render("attendance/assessment.html", result=result, form=form, status=status)


def _xlsx(result: attendance.Assessment):
    """The assessment as a spreadsheet: one row per person, under the office's own row."""
    book = spreadsheets.workbook(write_only=True)
    sheet = book.create_sheet(_("Assessment"))
    bold = spreadsheets.font(bold=True)
    title = _("3+2 assessment, %(year)s-%(month)02d", year=result.month.year, month=result.month.month)
    sheet.append(spreadsheets.cells(sheet, [title], bold))
    if result.first:
        sheet.append(spreadsheets.cells(sheet, [_("Weeks assessed: %(first)s to %(last)s",
                                                  first=result.first.isoformat(), last=result.last.isoformat())]))
    sheet.append(spreadsheets.cells(sheet, [
        _("Office"), _("Person"), _("Weeks met"), _("Weeks assessed"), _("Days on the island"), _("Days asked for"),
        _("Working days"), _("Off the island"), _("On leave"), _("Not recorded"), _("Weeks short")], bold))
    for office in result.offices:
        name = localized(office.office) if office.office else _("No office")
        sheet.append(spreadsheets.cells(sheet, [
            name, _("The office (days with someone on the island)"), office.weeks_met, office.weeks, office.stationed,
            office.required, "", "", "", "", ""], bold))
        for person in office.people:
            sheet.append(spreadsheets.cells(sheet, [
                name, person.user.display_name, person.weeks_met, person.weeks, person.on_island, person.required,
                person.working_days, person.off_island, person.leave, person.unrecorded,
                "、".join(m.strftime("%m-%d") for m in person.short_weeks)]))
    filename = f"3+2考核-{result.month:%Y-%m}.xlsx"
    return spreadsheets.download(spreadsheets.xlsx_bytes(book), filename, spreadsheets.XLSX)
