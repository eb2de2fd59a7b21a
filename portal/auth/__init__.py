"""Signing in and out, changing one's password, and the session rules (auth area)."""
from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from portal.auth import routes, sessions  # noqa: E402,F401  (routes register on bp)

init_app = sessions.init_app
