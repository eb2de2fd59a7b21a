"""The "3+2" week (在岛出勤): a member's own days and the missed ones filled in, the offices' weeks with who fell
short, a lead's corrections, and the monthly assessment (考核) that goes upward, printed or as a spreadsheet."""
from flask import Blueprint

bp = Blueprint("attendance", __name__, url_prefix="/attendance")

from portal.attendance import routes  # noqa: E402,F401
