"""Importing rosters from spreadsheets (households and residents; places and the catalog for admins),
with a preview that writes nothing, and exporting households."""
from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/imports")

from portal.imports import routes  # noqa: E402,F401
