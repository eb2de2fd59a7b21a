"""Directory admin (目录管理): users, service points, places, service items and teams."""
from flask import Blueprint

bp = Blueprint("directory", __name__, url_prefix="/directory")

from portal.directory import calendar, routes  # noqa: E402,F401
