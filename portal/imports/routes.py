"""Routes of the roster import: the page, the template, an upload checked by a background job (its page is the
preview: nothing written), the import by another job, the rows with errors as a file, and the export of households.
The jobs and the kept upload are ``portal.domain.roster_jobs``'s.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import spreadsheets
from portal.domain import access, roster_jobs, rosters
from portal.domain.platform import audit, jobs, privacy
from portal.extensions import db
from portal.imports import bp
from portal.models import Household, Role
from portal.web import submit as web_submit
from portal.web.guards import allow, me
from portal.web.htmx import redirect_to, render
from portal.web.navigation import register

ROLES = (Role.ADMIN, Role.STAFF)  # staff for their places
register("imports.index", _l("Import rosters"), _l("Households and residents from Excel or CSV, checked before "
                                                   "anything is saved."), set(ROLES))


def _kinds() -> list[rosters.Kind]:
    return [k for k in rosters.KINDS.values() if not k.admin_only or access.can(me(), "roster.directory")]


def _kind(key: str) -> rosters.Kind:
    kind = rosters.KINDS.get(key)
    if kind is None or kind not in _kinds():
        abort(404)
    return kind


def _index(status: int = 200, chosen: str | None = None, problem: str | None = None):
    recent = jobs.recent(me(), ("roster_check", "roster_import"))
    return render("imports/index.html", kinds=_kinds(), problem=problem, chosen=chosen, recent=recent, status=status)


@bp.get("/")
@allow(*ROLES)
def index():
    """Choose what to import and the file; the user's recent checks and imports."""
    return _index()


@bp.get("/<key>/template.xlsx")
@allow(*ROLES)
def template(key: str):
    """An empty spreadsheet with the columns of a roster kind."""
    return spreadsheets.download(rosters.template(_kind(key)), f"{key}-template.xlsx", spreadsheets.XLSX)


@bp.post("/<key>/check")
@allow(*ROLES)
def check(key: str):
    """Keep the upload and check every row of it in the background (nothing of the roster is written); the
    job's page is the preview."""
    kind = _kind(key)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _index(422, kind.key, _("Choose the file to import."))
    data = upload.read(rosters.MAX_BYTES + 1)
    done = web_submit.run(lambda: roster_jobs.start_check(kind, roster_jobs.keep(kind, upload.filename, data, me()),
                                                          me()), say=False)
    if not done.ok:
        return _index(422, kind.key, str(done.error.message))
    return redirect_to(url_for("jobs.show", job_id=done.value.id))


@bp.post("/<key>/<token>/import")
@allow(*ROLES)
def run(key: str, token: str):
    """Import the valid rows of a checked file in the background, 500 rows a transaction; the others are
    skipped and listed on the job's page."""
    kind = _kind(key)
    done = web_submit.run(lambda: roster_jobs.start_import(kind, token, me()), say=False)
    if not done.ok:
        if done.error.status == 404:  # another's upload, or one no longer kept: nothing to say about it
            abort(404)
        return _index(done.status, kind.key, str(done.error.message))
    return redirect_to(url_for("jobs.show", job_id=done.value.id))


@bp.get("/<key>/<token>/errors.xlsx")
@allow(*ROLES)
def errors(key: str, token: str):
    """The rows of a checked file that have errors, as a spreadsheet to correct and import again."""
    kind = _kind(key)
    done = web_submit.run(lambda: roster_jobs.errors_file(kind, token, me()), say=False)
    if not done.ok or done.value is None:
        abort(404)
    return spreadsheets.download(done.value.read_bytes(), f"{key}-errors.xlsx", spreadsheets.XLSX)


@bp.app_template_global()
def roster_kind(key: str) -> rosters.Kind:
    return rosters.KINDS[key]


@bp.get("/households/export.xlsx")
@allow(*ROLES)
def export_households():
    """Every household (of the user's places) and resident, in the columns of the template, phones and ID
    numbers masked: the file can be corrected and imported again, a masked cell keeping what is stored."""
    query = (sa.select(Household).options(joinedload(Household.place), sa.orm.selectinload(Household.residents))
             .where(Household.active).order_by(Household.place_id, Household.id))
    query = query.where(access.scope(me(), "household.view"))
    book = spreadsheets.workbook(write_only=True)
    sheet = book.create_sheet("住户")
    sheet.append([c.header for c in rosters.HOUSEHOLD_COLUMNS])
    count = 0
    for home in db.session.scalars(query.execution_options(yield_per=2000)):
        flags = ["是" if getattr(home, f) else "否" for f in ("elderly_alone", "disabled", "busy_in_season")]
        for person in home.residents or [None]:
            sheet.append(spreadsheets.cells(sheet, [
                home.place.code, home.address, home.building or "", privacy.mask_phone(home.phone or ""),
                person.name if person else "", privacy.mask_id_number(person.id_number) if person else "",
                privacy.mask_phone(person.phone or "") if person else "", *flags, home.notes]))
            count += 1
    audit.record_alone("export", actor=me(), object_type="households", reason=f"{count} rows")
    return spreadsheets.xlsx_download(book, "households.xlsx")


@bp.app_template_global()
def import_limit_mb() -> int:
    return rosters.MAX_BYTES // (1024 * 1024)
