"""Intake (登记受理): the form that logs a case from the counter, the phone, WeChat, a visit or a kiosk."""
from flask import Blueprint

bp = Blueprint("intake", __name__, url_prefix="/intake")

from portal.intake import routes  # noqa: E402,F401
