"""Routes of the working calendar: each year's status, importing the State Council's notice (CSV or
iCalendar) after a preview, filling a provisional year from the holidays library, confirming it."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _

from portal.directory import bp
from portal.domain import visits
from portal.domain.cases import calendar_years as working_years
from portal.models import Role
from portal.web import writes_nothing
from portal.web.guards import allow, me
from portal.web.htmx import redirect_to, render
from portal.web.submit import run


def _page(status: int = 200, **context):
    parsed = context.get("parsed")
    missing = working_years.missing_statutory(parsed) if parsed is not None and not parsed.errors else []
    return render("directory/calendar.html", years=working_years.years(), warning=working_years.warning(), status=status,
                  missing=missing, missing_names=working_years.missing_names(missing), to_rebook=visits.to_rebook(),
                  difference=working_years.difference(parsed) if parsed is not None else None,
                  **context)


def _tell_rebooking() -> None:
    """After the days changed: how many booked visits now fall on a half-day their team does not visit (those
    stopped by a cancelled sailing are listed too, but the days did not do that)."""
    count = sum(1 for rebooking in visits.to_rebook() if rebooking.reason == visits.Rebooking.TEAM_AWAY)
    if count:
        flash(_("%(n)d booked visits now fall on a day their team does not visit: rebook them (listed below).",
                n=count), "warning")


@bp.get("/working-calendar/")
@allow(Role.ADMIN)
def calendar_years():
    """Each year of the working calendar: confirmed, provisional or missing; and the import."""
    return _page()


@bp.post("/working-calendar/check")
@writes_nothing
@allow(Role.ADMIN)
def calendar_check():
    """Read an uploaded calendar and show the days it would set; nothing is written."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(422, problem=_("Choose the file to import."))
    parsed = working_years.parse(upload.filename, upload.read(working_years.MAX_BYTES + 1))
    return _page(422 if parsed.errors else 200, parsed=parsed, source=upload.filename[:120])


@bp.post("/working-calendar/import")
@allow(Role.ADMIN)
def calendar_import():
    """Import the previewed days (posted back as CSV, read again by the same reader, and imported only when
    they are exactly the preview's, by its digest): the year is confirmed."""
    parsed = working_years.parse("checked.csv", request.form.get("days", "").encode("utf-8"))
    done = run(lambda: working_years.import_year(parsed, me(), request.form.get("source", ""),
                                            digest=request.form.get("digest", ""),
                                            without=request.form.get("without", "")), say=False)
    if not done.ok:
        return _page(422, parsed=parsed, problem=str(done.error.message))
    flash(_("%(n)d days of %(year)d imported; the year is confirmed.", n=done.value, year=parsed.years[0]), "success")
    _tell_rebooking()
    return redirect_to(url_for("directory.calendar_years"))


@bp.post("/working-calendar/<int:year>/provisional")
@allow(Role.ADMIN)
def calendar_provisional(year: int):
    """Fill a missing year from the holidays library, marked provisional."""
    if run(lambda: working_years.fill_provisional(year, me())).ok:
        flash(_("%(year)d is filled provisionally: check it against the notice, then confirm it.", year=year),
              "success")
        _tell_rebooking()
    return redirect_to(url_for("directory.calendar_years"))


@bp.post("/working-calendar/<int:year>/confirm")
@allow(Role.ADMIN)
def calendar_confirm(year: int):
    """Confirm a provisional year as it stands."""
    if run(lambda: working_years.confirm(year, me())).ok:
        flash(_("%(year)d is confirmed.", year=year), "success")
    return redirect_to(url_for("directory.calendar_years"))
