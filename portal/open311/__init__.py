"""Open311 GeoReport v2 (/open311/v2/) for kiosks, WeChat and other systems, and its discovery file."""
from flask import Blueprint

bp = Blueprint("open311", __name__, url_prefix="/open311")

from portal.open311 import routes  # noqa: E402,F401
