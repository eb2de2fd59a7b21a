"""Routes of background jobs: a job's page, polled while the job runs."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.domain import access
from portal.domain.platform import jobs
from portal.jobs import bp
from portal.models import Job, JobStatus
from portal.web.guards import allow_signed_in, me
from portal.web.htmx import is_htmx, render

TITLES = {"roster_check": _l("Checking a roster"), "roster_import": _l("Importing a roster"),
          "cards_pdf": _l("Printing convenience cards")}
# Where the person came from, for the page's crumbs: (endpoint, label) per kind.
CRUMBS = {"roster_check": ("imports.index", _l("Import rosters")), "roster_import": ("imports.index", _l("Import rosters")),
          "cards_pdf": ("heating.cards_page", _l("Convenience cards"))}
WRITING = {"roster_import"}  # the kinds that write as they go (a check writes nothing: its failure leaves nothing)
STAGES = {"": _l("Waiting for a worker to take it."), "checking": _l("Checking the rows:"),
          "writing": _l("Checking and writing the rows:"), "cards": _l("Setting the cards:"), "done": _l("Finishing.")}


@bp.app_template_filter("job_title")
def job_title(kind: str) -> str:
    return str(TITLES.get(kind, kind))


@bp.app_template_filter("job_stage")
def job_stage(stage: str) -> str:
    return str(STAGES.get(stage, stage))


@bp.get("/<int:job_id>")
@allow_signed_in
def show(job_id: int):
    """A job of the user's: how far it got, polled every two seconds while it runs; then what came of it."""
    job = access.load(me(), Job, job_id)
    running = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    if job.status is JobStatus.QUEUED and current_app.config["JOBS_IN_PROCESS"]:
        jobs.kick(current_app._get_current_object())  # queued while no runner was about (a restart, the demo's)
    response = render("jobs/show.html", "progress", job=job, running=running, crumbs=CRUMBS.get(job.kind),
                      writing_kinds=WRITING)
    if is_htmx() and not running:
        response.headers["HX-Refresh"] = "true"  # finished: the whole page shows the result
    return response
