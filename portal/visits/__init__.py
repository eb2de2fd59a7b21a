"""Booked home visits (预约上门服务): the team's phone view, the week's calendar, booking, the care
register and each team's calendar feed."""
from flask import Blueprint

bp = Blueprint("visits", __name__, url_prefix="/visits")

from portal.visits import panel, routes  # noqa: E402,F401  (the panel registers its part of the case page)
