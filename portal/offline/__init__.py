"""Work that goes on when the link is down: the service worker, the pages it keeps, and the outbox's page.

Which pages a device keeps for the field is decided here, in ``KEPT``: the service worker (templates/offline/
sw.js) stores a page only when its answer carries ``X-Offline-Keep``, which this area adds to those pages'
answers. What happens to a form submitted without a link is in static/portal.js and portal/web/replay.py;
docs/ARCHITECTURE.md ("Offline") walks through it.
"""
from flask import Blueprint, request

bp = Blueprint("offline", __name__)

# The pages each role needs in the field: a proxy's errands and manifest, a team member's visits (and each
# visit's page), a post clerk's intake form and queue, any case page opened (to add a note or record a
# callback), and the outbox's own page (the fallback when a page was never kept).
KEPT = frozenset({
    "errands.index", "errands.manifest", "errands.show",
    "visits.index", "visits.show",
    "intake.new_case", "cases.queue", "cases.show",
    "offline.index",
})
KEEP_HEADER = "X-Offline-Keep"


@bp.after_app_request
def mark_pages_to_keep(response):
    if (request.method == "GET" and request.endpoint in KEPT and response.status_code == 200
            and response.mimetype == "text/html" and not request.headers.get("HX-Request")):
        response.headers[KEEP_HEADER] = "1"
    return response


from portal.offline import routes  # noqa: E402,F401
