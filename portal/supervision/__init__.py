"""Supervision (督办): extensions, problem cases and overdue cases, for leads; the extension and
supervision forms on the case page."""
from flask import Blueprint

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

from portal.supervision import panel, routes  # noqa: E402,F401  (the panel registers its part of the case page)
