"""Roster imports from the web as background jobs (``platform.jobs``): an upload is kept, checked by a job (its
preview: what importing would do, and every row with an error), then imported by another job, 500 rows a
transaction (``rosters.check_in_chunks`` and ``rosters.apply``, the command line's path), so that neither a large
file nor a slow database ever keeps a request waiting, and a clerk logging a case beside a running import waits at
most one chunk's transaction for the write lock.

An upload is kept under the upload folder (shared by every server) between its check and its import, under a
random token that only its uploader can use, for a day at most, with the rows with errors beside it as a workbook.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter
from pathlib import Path

from flask_babel import lazy_gettext as _l

from portal.domain import DomainError, NotFound, rosters
from portal.domain.platform import files, jobs, unit
from portal.extensions import begin_mode, db
from portal.models import Job, User

KEEP_SECONDS = 24 * 3600
GONE = _l("This file is no longer kept (a day after its upload at most); upload it again.")
SHOWN_ERRORS = 200  # rows with errors listed on the page; the workbook has them all
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,40}")  # what secrets.token_urlsafe makes
CHUNK = 500  # rows a transaction: short enough that a clerk's write never waits long for SQLite's lock


# --- the kept upload ----------------------------------------------------------------------------------------------

def _folder() -> Path:
    folder = files.folder() / "imports"
    files.private_folder(folder)  # a roster holds full ID numbers
    return folder


def keep(kind: rosters.Kind, filename: str, data: bytes, user: User) -> str:
    """Keep an upload for the jobs that check and import it; forget those older than a day."""
    if len(data) > rosters.MAX_BYTES:
        raise DomainError(_l("The file is larger than 10 MB; split it, or use `flask import-households` on the "
                             "server."), field="file")
    rosters.read(filename, data)[1].close()  # not a spreadsheet at all: said now, beside the file field
    folder = _folder()
    for old in folder.glob("*.json"):
        if time.time() - old.stat().st_mtime > KEEP_SECONDS:
            forget(old.stem)
    token = secrets.token_urlsafe(18)
    stored = f"{token}.{'xlsx' if data[:4] == b'PK' + bytes([3, 4]) else 'csv'}"  # openpyxl reads by the suffix
    files.write_private(folder / stored, data)
    files.write_private(folder / f"{token}.json", json.dumps({"kind": kind.key, "filename": filename[:120],
                                                         "user": user.id, "stored": stored}).encode())
    return token


def kept(kind: rosters.Kind, token: str, user: User) -> tuple[str, Path]:
    """The name and path of ``user``'s kept upload of ``kind``; NotFound for any other token."""
    if not TOKEN.fullmatch(token):
        raise NotFound(GONE)
    meta_path = _folder() / f"{token}.json"
    if not meta_path.exists() or time.time() - meta_path.stat().st_mtime > KEEP_SECONDS:
        raise NotFound(GONE)
    meta = json.loads(meta_path.read_text())
    if meta["kind"] != kind.key or meta["user"] != user.id:
        raise NotFound(GONE)
    return meta["filename"], _folder() / meta["stored"]


def errors_file(kind: rosters.Kind, token: str, user: User) -> Path | None:
    """The workbook of the rows with errors that the last check or import of the upload wrote, if any."""
    kept(kind, token, user)
    path = _folder() / f"{token}.errors.xlsx"
    return path if path.exists() else None


def forget(token: str) -> None:
    for suffix in (".json", ".xlsx", ".csv", ".errors.xlsx"):
        (_folder() / f"{token}{suffix}").unlink(missing_ok=True)


# --- the jobs -----------------------------------------------------------------------------------------------------

def start_check(kind: rosters.Kind, token: str, user: User) -> Job:
    """Check the kept upload in the background (nothing written); its page is the preview."""
    filename, _path = kept(kind, token, user)
    return jobs.start("roster_check", user, {"kind": kind.key, "token": token, "filename": filename})


def start_import(kind: rosters.Kind, token: str, user: User) -> Job:
    """Import the kept upload in the background: its valid rows written, the others listed."""
    filename, _path = kept(kind, token, user)
    return jobs.start("roster_import", user, {"kind": kind.key, "token": token, "filename": filename})


@jobs.task("roster_check")
def _check(params: dict, progress: jobs.Progress) -> dict:
    """Check every row of the upload, writing nothing: what importing would do, and the rows with errors."""
    return _go_through(params, progress, write=False)


@jobs.task("roster_import")
def _import(params: dict, progress: jobs.Progress) -> dict:
    """Check and write the upload ``CHUNK`` rows a transaction; rows with errors are skipped and listed."""
    return _go_through(params, progress, write=True)


def _go_through(params: dict, progress: jobs.Progress, write: bool) -> dict:
    kind = rosters.KINDS[params["kind"]]
    with begin_mode("DEFERRED"):  # reading the owner and sizing the file take no write lock
        owner = _owner(progress.job_id)
        filename, path = kept(kind, params["token"], owner)
        total = max(rosters.row_estimate(path) - 1, 1)
        unit.end_read()
    progress(done=0, total=total, stage="writing" if write else "checking")
    counts, written, invalid = Counter(), Counter(), []
    # A check only reads: on SQLite it takes no write lock, so the clerks' writes never queue behind it. An
    # import writes CHUNK rows a transaction, each holding the write lock for a fraction of a second.
    with begin_mode("IMMEDIATE" if write else "DEFERRED"):
        for chunk in rosters.check_in_chunks(kind, path, rows=CHUNK, user=owner):
            if chunk.missing:
                return {"filename": filename, "missing": chunk.missing}
            counts.update(row.action if row.ok else "invalid" for row in chunk.rows)
            if counts.total() > rosters.MAX_ROWS:
                raise DomainError(_l("At most %(n)s rows a file.", n=f"{rosters.MAX_ROWS:,}"))
            invalid += chunk.invalid
            if write and chunk.rows:  # checked and written in one transaction; the lease was renewed just before
                result = rosters.apply(kind, chunk, owner)
                written.update(created=result.created, updated=result.updated, same=result.same)
            unit.end_step()  # a check's read ends here too: no transaction spans two chunks
            progress(done=chunk.last_line - 1)
    progress(stage="done")
    errors_path = _folder() / f"{params['token']}.errors.xlsx"
    if invalid:
        files.write_private(errors_path, rosters.error_workbook(kind, rosters.Check(kind.key, invalid, [])))
    else:
        errors_path.unlink(missing_ok=True)
    headers = {column.key: column.header for column in kind.columns}
    return {
        "filename": filename, "missing": [], "rows": counts.total(), "new": counts["new"],
        "update": counts["update"], "same": counts["same"], "invalid": len(invalid),
        "created": written["created"], "updated": written["updated"], "unchanged": written["same"],
        "errors": [{"line": row.line, "values": [row.values.get(c.key, "") for c in kind.columns],
                    "problems": {headers.get(key, ""): message for key, message in row.errors.items()}}
                   for row in invalid[:SHOWN_ERRORS]],
    }


def _owner(job_id: int) -> User:
    job = db.session.get(Job, job_id)
    if job is None or job.user is None:
        raise DomainError(_l("The person who started this import no longer has an account."))
    return job.user
