"""Booked home visits (预约上门服务): the team's phone view, the week's calendar, booking, the care
register and each team's calendar feed."""
from flask import Blueprint

bp = Blueprint("visits", __name__, url_prefix="/visits")

from portal.visits import routes  # noqa: E402,F401
