"""Boards (看板): per place, service point and team, the district overview and its wall view, the
exports of the cases behind a figure, the monthly report and the wall screens."""
from flask import Blueprint

bp = Blueprint("boards", __name__, url_prefix="/boards")

from portal.boards import routes  # noqa: E402,F401
