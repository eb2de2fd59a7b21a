"""Party-member proxy errands (党员代办): the pool, my errands, document custody, the off-island
manifest and the round trip."""
from flask import Blueprint

bp = Blueprint("errands", __name__, url_prefix="/errands")

from portal.errands import panel, routes  # noqa: E402,F401  (the panel registers its part of the case page)
