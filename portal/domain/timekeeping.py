"""Time limits: when a case is due.

A case's due time comes from its service item's limit in hours, counted from the moment the case
is claimed (签收); until then it shows the due time it would have if claimed when logged.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from portal.models import ServiceItem, ServicePoint


def due_time(item: ServiceItem, start: datetime, point: ServicePoint | None = None) -> datetime:
    """Return when a case of ``item`` started at ``start`` is due."""
    return start + timedelta(hours=item.sla_hours)
