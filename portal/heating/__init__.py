"""The heating district (供热片区): the hotline, estate incidents, the duty roster, visit campaigns and
the convenience cards."""
from flask import Blueprint

bp = Blueprint("heating", __name__, url_prefix="/heating")

from portal.heating import panel, routes  # noqa: E402,F401  (the panel registers its part of the case page)
