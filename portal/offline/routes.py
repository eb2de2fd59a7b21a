"""Routes of the offline area: the offline queue's page, what the queue asks before it sends, the service worker."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import current_app, jsonify, make_response, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from portal.offline import KEPT, KEPT_FOR, bp, names
from portal.web.guards import ANYONE_SIGNED_IN, allow_signed_in, me, public
from portal.web.htmx import render
from portal.web.navigation import entries_for, register

register("offline.index", _l("Offline work"), _l("Keep your field pages on this device, and what waits to be sent."),
         ANYONE_SIGNED_IN, in_nav=False, rank=90)

# What the service worker keeps at once, whoever signs in: the look of every page.
SHELL = ("portal.css", "portal.js", "offline_queue.js", "signature.js", "vendor/htmx-2.0.11.min.js", "favicon.svg")


@bp.get("/offline/")
@allow_signed_in
def index():
    """Turn offline work on or off on this device; the pages kept for the user's role; the offline queue's items
    (listed by static/portal.js from the browser's own store). Also what a page never kept shows offline."""
    pages = [entry for entry in entries_for(me()) if entry.endpoint in KEPT and entry.endpoint != "offline.index"]
    return render("offline/index.html", pages=pages)


@bp.get("/offline/state")
@allow_signed_in
def state():
    """Who is signed in and a fresh CSRF token: asked by the offline queue before it sends (an expired session answers
    401, and the queue waits for the user to sign in again; one ended elsewhere also says to forget the kept
    pages, ``FORGET_HEADER``)."""
    response = jsonify(user=me().id, csrf=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker, at the root so that it may look after every page. Its version follows the shell's
    files, so a new release replaces what devices keep."""
    response = make_response(render_template("offline/sw.js", shell=[url_for("static", filename=f) for f in SHELL],
                                             version=_shell_version(), kept_for_ms=int(KEPT_FOR.total_seconds() * 1000),
                                             names=names()))
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    return response


def _shell_version() -> str:
    return _version_of(Path(current_app.static_folder or ""))


@functools.cache
def _version_of(static: Path) -> str:
    """A digest of the shell's files and the worker itself (read once a process: a release restarts it)."""
    digest = hashlib.sha256()
    for name in (*SHELL, "../templates/offline/sw.js"):
        path = static / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]
