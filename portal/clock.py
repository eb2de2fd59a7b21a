"""The portal's clock and its time zone.

Timestamps are stored in UTC and shown in China Standard Time; days (for case numbers, "today" on a
board, the 3+2 week) are local days. Tests move time by patching ``portal.clock.now``.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def local(moment: datetime) -> datetime:
    """Return ``moment`` in local time."""
    return moment.astimezone(LOCAL_TZ)


def today() -> date:
    """Return the local date."""
    return local(now()).date()


def local_midnight(day: date) -> datetime:
    """Return the start of a local day as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


@contextmanager
def told(moment: datetime) -> Iterator[None]:
    """Tell the time as ``moment`` while the demo plays, through the portal's own steps, what happened then (an
    errand handed in last Thursday morning); the clock runs again after. Never in a request."""
    global now
    running, told_moment = now, moment.astimezone(UTC)
    now = lambda: told_moment  # noqa: E731 - the module's ``now``, as tests patch it
    try:
        yield
    finally:
        now = running
