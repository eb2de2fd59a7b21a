"""What SMS gateways call back: a resident's reply (回复 TD 退订). No page here is for people."""
from flask import Blueprint

from portal.extensions import csrf

bp = Blueprint("messages", __name__, url_prefix="/messages")
csrf.exempt(bp)  # the gateway authenticates with the shared token of SMS_INBOUND_TOKEN, not a session

from portal.messages import routes  # noqa: E402,F401
