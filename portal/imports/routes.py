"""Routes of the roster import: the page, the template, checking an upload (nothing written), importing
the checked file, the rows with errors as a file, and the export of households.

An upload is kept under the upload folder (shared by every server) between the preview and the import,
under a random token that only its uploader can use, for a day at most.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

import sqlalchemy as sa
from flask import abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy.orm import joinedload

from portal import spreadsheets
from portal.domain import access
from portal.domain.features import rosters
from portal.domain.platform import audit, files, privacy
from portal.extensions import db
from portal.imports import bp
from portal.models import Household, Role
from portal.web import submit as web_submit
from portal.web import writes_nothing
from portal.web.guards import allow, me
from portal.web.htmx import render
from portal.web.navigation import register

ROLES = (Role.ADMIN, Role.STAFF)  # staff for their places
KEEP_SECONDS = 24 * 3600
register("imports.index", _l("Import rosters"), _l("Households and residents from Excel or CSV, checked before "
                                                   "anything is saved."), set(ROLES))


def _kinds() -> list[rosters.Kind]:
    return [k for k in rosters.KINDS.values() if not k.admin_only or access.can(me(), "roster.directory")]


def _kind(key: str) -> rosters.Kind:
    kind = rosters.KINDS.get(key)
    if kind is None or kind not in _kinds():
        abort(404)
    return kind


def _folder() -> Path:
    folder = files.folder() / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _keep(kind: rosters.Kind, filename: str, data: bytes) -> str:
    """Keep an upload for the import that follows its preview; forget old ones."""
    folder = _folder()
    for old in folder.glob("*.json"):
        if time.time() - old.stat().st_mtime > KEEP_SECONDS:
            old.unlink(missing_ok=True)
            old.with_suffix(".bin").unlink(missing_ok=True)
    token = secrets.token_urlsafe(18)
    _write_private(folder / f"{token}.bin", data)
    _write_private(folder / f"{token}.json", json.dumps({"kind": kind.key, "filename": filename[:120],
                                                         "user": me().id}).encode())
    return token


def _write_private(path: Path, data: bytes) -> None:
    """A file only the portal's own account may read: a roster holds full ID numbers."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as file:
        file.write(data)


def _forget(token: str) -> None:
    for suffix in (".json", ".bin"):
        (_folder() / f"{token}{suffix}").unlink(missing_ok=True)


def _kept(kind: rosters.Kind, token: str) -> tuple[str, bytes]:
    if not token.replace("-", "").replace("_", "").isalnum() or len(token) > 40:
        abort(404)
    meta_path = _folder() / f"{token}.json"
    if not meta_path.exists() or time.time() - meta_path.stat().st_mtime > KEEP_SECONDS:
        abort(404)
    meta = json.loads(meta_path.read_text())
    if meta["kind"] != kind.key or meta["user"] != me().id:
        abort(404)
    return meta["filename"], (_folder() / f"{token}.bin").read_bytes()


@bp.get("/")
@allow(*ROLES)
def index():
    """Choose what to import and the file."""
    return render("imports/index.html", kinds=_kinds(), problem=None, chosen=None)


@bp.get("/<key>/template.xlsx")
@allow(*ROLES)
def template(key: str):
    """An empty spreadsheet with the columns of a roster kind."""
    return spreadsheets.download(rosters.template(_kind(key)), f"{key}-template.xlsx", spreadsheets.XLSX)


@bp.post("/<key>/check")
@writes_nothing
@allow(*ROLES)
def check(key: str):
    """Check every row of the upload and show what importing it would do; nothing is written."""
    kind = _kind(key)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render("imports/index.html", kinds=_kinds(), chosen=kind.key, status=422,
                      problem=_("Choose the file to import."))
    data = upload.read(rosters.MAX_BYTES + 1)
    done = web_submit.run(lambda: rosters.check(kind, upload.filename, data, me()), say=False)
    if not done.ok:
        return render("imports/index.html", kinds=_kinds(), chosen=kind.key, status=422, problem=str(done.error.message))
    checked = done.value
    token = _keep(kind, upload.filename, data)
    return render("imports/preview.html", kind=kind, checked=checked, token=token, filename=upload.filename,
                  status=422 if checked.missing else 200)


@bp.post("/<key>/<token>/import")
@allow(*ROLES)
def run(key: str, token: str):
    """Import the valid rows of a checked file, in one transaction; the others are skipped."""
    kind = _kind(key)
    filename, data = _kept(kind, token)
    checked = None

    def check_and_apply():
        nonlocal checked
        checked = rosters.check(kind, filename, data, me())
        return rosters.apply(kind, checked, me())

    done = web_submit.run(check_and_apply, say=False)
    if not done.ok:
        return render("imports/index.html", kinds=_kinds(), chosen=kind.key, status=422, problem=str(done.error.message))
    result = done.value
    if not checked.invalid:
        _forget(token)  # nothing left to download
    return render("imports/done.html", kind=kind, result=result, token=token, filename=filename,
                  errors=len(checked.invalid))


@bp.get("/<key>/<token>/errors.xlsx")
@allow(*ROLES)
def errors(key: str, token: str):
    """The rows of a checked file that have errors, as a spreadsheet to correct and import again."""
    kind = _kind(key)
    filename, data = _kept(kind, token)
    checked = rosters.check(kind, filename, data, me())
    return spreadsheets.download(rosters.error_workbook(kind, checked), f"{key}-errors.xlsx", spreadsheets.XLSX)


@bp.get("/households/export.xlsx")
@allow(*ROLES)
def export_households():
    """Every household (of the user's places) and resident, in the columns of the template, phones and ID
    numbers masked: the file can be corrected and imported again, a masked cell keeping what is stored."""
    query = (sa.select(Household).options(joinedload(Household.place), sa.orm.selectinload(Household.residents))
             .where(Household.active).order_by(Household.place_id, Household.id))
    query = query.where(access.scope(me(), "household.view"))
    book = Workbook(write_only=True)
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
