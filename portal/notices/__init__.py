"""Notices (信息发布): staff publish, edit and withdraw them; anyone reads a current one."""
from flask import Blueprint

bp = Blueprint("notices", __name__, url_prefix="/notices")

from portal.notices import routes  # noqa: E402,F401
