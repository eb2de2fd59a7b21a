"""The page of a background job (``portal.domain.platform.jobs``): its progress while it runs, then its result.
Each kind of job shows its result with its own template, ``templates/jobs/<kind>.html``."""
from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

from portal.jobs import routes  # noqa: E402,F401
