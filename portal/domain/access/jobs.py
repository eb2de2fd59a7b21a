"""Who sees a background job: only the person who started it. Its page shows what its task read (a roster's rows,
ID numbers among them), so not even a lead sees another's."""
from __future__ import annotations

import sqlalchemy as sa

from portal.domain.access.policy import rule
from portal.models import Job, User


def job_scope(user: User) -> sa.ColumnElement[bool]:
    return Job.user_id == user.id


@rule("job.view", Job, sql=job_scope, reads=True)
def may_view(user: User, job: Job) -> bool:
    return job.user_id == user.id
