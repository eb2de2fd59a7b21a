"""Cases (工单): the queues, the case page with its timeline and actions, receipts, the badge."""
from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/cases")

from portal.cases import routes  # noqa: E402,F401
