"""The public self-service pages (自助查询), for residents and the kiosks of the posts: follow a case,
print its slip, rate it; the page a convenience card's QR code opens; the notices of a place."""
from flask import Blueprint

bp = Blueprint("lookup", __name__, url_prefix="/lookup")

from portal.lookup import routes  # noqa: E402,F401
