"""Work that goes on when the link is down: the service worker, the pages it keeps, and the offline queue's page.

Which pages a device keeps for the field is decided here, in ``KEPT``: the service worker (templates/offline/
sw.js) stores a page only when its answer carries ``X-Offline-Keep``, which this area adds to those pages'
answers. How long it keeps one is decided here too (``KEPT_FOR``), and when it forgets them all: an answer to a
device whose session was ended elsewhere (signed out on another device, ended by an administrator) carries
``X-Offline-Forget``. What happens to a form submitted without a link is in static/portal.js and
portal/web/replay.py; docs/ARCHITECTURE.md ("Offline") walks through it.
"""
from datetime import timedelta

from flask import Blueprint, current_app, has_request_context, request, url_for
from flask_babel import get_locale
from markupsafe import Markup

from portal.auth import sessions
from portal.domain.platform import shelves

bp = Blueprint("offline", __name__)

# The pages each role needs in the field: a proxy's errands and manifest, a team member's visits (and each
# visit's page), a post clerk's intake form and queue, any case page opened (to add a note or record a
# callback), and the offline queue's own page (the fallback when a page was never kept).
KEPT = frozenset({
    "errands.index", "errands.manifest", "errands.show",
    "visits.index", "visits.show",
    "intake.new_case", "cases.queue", "cases.show",
    "offline.index",
})
# What the browser's scripts name that the server decides: the caches the service worker keeps, and the addresses
# they ask (``names``: given to static/portal.js in the page's <meta name="portal-offline">, to the worker by its
# route). A case's address has NUMBER where the case's number goes.
PAGES_CACHE = "portal-pages"
SHELL_CACHE = "portal-shell-"  # and the shell's version
KEEP_HEADER = "X-Offline-Keep"
FORGET_HEADER = "X-Offline-Forget"
# A kept page older than this is neither shown nor kept: a week covers the longest a post or a boat goes without a
# link (a typhoon's closure of the ferries), and a copy of residents' details on a phone outlives no more than
# that. Items of the offline queue are not pages: they wait until sent or discarded (the server takes them for 14 days).
KEPT_FOR = timedelta(days=7)


def names() -> dict[str, str]:
    """The caches and addresses the browser's scripts use (``PAGES_CACHE``)."""
    worker = url_for("offline.service_worker")
    return {"pages": PAGES_CACHE, "shell": SHELL_CACHE, "state": url_for("offline.state"),
            "queue": url_for("offline.index"), "worker": worker, "scope": worker.rsplit("/", 1)[0] + "/",
            "case": url_for("cases.show", number="NUMBER")}


@bp.app_context_processor
def offline_names() -> dict:
    return {"offline_names": names} if has_request_context() else {}


_BANNERS = shelves.shelf(8)  # (language, the portal's path, with the list) -> the banner rendered


@bp.app_template_global("offline_banner")
def banner() -> Markup:
    """What every staff page says of offline work (templates/offline/_banner.html): some thirty strings, the same for
    every user in a language, so rendered once per language and kept rather than once a request. It shows no one's
    data: what waits is the browser's, filled in by static/portal.js."""
    with_list = request.endpoint != "offline.index"  # the queue's own page lists it in its body
    key = (str(get_locale()), request.script_root, with_list)
    kept = _BANNERS.get(key)
    if kept is None:
        kept = Markup(current_app.jinja_env.get_template("offline/_banner.html").render(with_list=with_list))
        _BANNERS.put(key, kept)
    return kept


@bp.after_app_request
def mark_pages_to_keep(response):
    if (request.method == "GET" and request.endpoint in KEPT and response.status_code == 200
            and response.mimetype == "text/html" and not request.headers.get("HX-Request")):
        response.headers[KEEP_HEADER] = "1"
    if request.endpoint != "static" and sessions.ended_elsewhere():
        response.headers[FORGET_HEADER] = "1"
    return response


from portal.offline import routes  # noqa: E402,F401
