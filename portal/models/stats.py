"""Daily counters behind the boards, kept in the same transaction as the events they count.

Rows of a local day, place, service point, team and category hold how many cases were logged,
signed for (and in time), resolved (and on time, and how long they took, as a histogram), called
back (rated, satisfied, solved, redone; rated and satisfied by the resident themself), returned, finished on the spot, and how many round trips
residents were spared. Writers only ever insert (a ``delta`` row each), so two writers never update one row;
the sweep folds the deltas into one row per key, and a board sums whatever rows there are.
``portal.domain.boards.counters`` keeps them; ``flask --app portal rebuild-stats`` recomputes them from the
timeline.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.people import User

# Upper bounds, in hours, of the buckets of the time-to-resolve histogram (the last is open).
HOUR_BUCKETS = (1, 2, 4, 8, 24, 48, 72, 120, 168, 336, 720, None)
COUNTERS = (
    "logged", "on_spot", "signed", "signed_in_time", "resolved", "resolved_on_time", "resolve_minutes", "trips_saved",
    "callbacks", "rated", "satisfied", "with_outcome", "solved", "redone", "returned", "rated_by_resident",
    "satisfied_by_resident", "counter_logged",
    *(f"h{n}" for n in range(len(HOUR_BUCKETS))),
)


class CaseCount(db.Model):
    __tablename__ = "case_counts"
    __table_args__ = (
        sa.Index("ix_case_counts_key", "day", "place_id", "service_point_id", "team_id", "category"),
        sa.Index("ix_case_counts_delta", "id", sqlite_where=sa.text("delta"), postgresql_where=sa.text("delta")),
        sa.Index("ix_case_counts_place_day", "place_id", "day"),
        sa.Index("ix_case_counts_point_day", "service_point_id", "day"),
        sa.Index("ix_case_counts_team_day", "team_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    # 0 where a case has no place or team, so that rows of one key compare equal (NULLs never do).
    place_id: Mapped[int] = mapped_column(default=0)
    service_point_id: Mapped[int] = mapped_column(default=0)
    team_id: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(sa.String(40), default="")
    # Proactive work's counters (a care visit, a campaign's finding), kept apart from residents' requests.
    proactive: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    logged: Mapped[int] = mapped_column(default=0)
    on_spot: Mapped[int] = mapped_column(default=0)
    signed: Mapped[int] = mapped_column(default=0)
    signed_in_time: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    resolved_on_time: Mapped[int] = mapped_column(default=0)
    # Minutes from logging to resolution, summed (for the average days to finish of the monthly report).
    resolve_minutes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    trips_saved: Mapped[int] = mapped_column(default=0)
    callbacks: Mapped[int] = mapped_column(default=0)
    rated: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    with_outcome: Mapped[int] = mapped_column(default=0)
    solved: Mapped[int] = mapped_column(default=0)
    redone: Mapped[int] = mapped_column(default=0)
    returned: Mapped[int] = mapped_column(default=0)
    # Of the rated callbacks, those the resident answered themself (by the SMS link or at a kiosk).
    rated_by_resident: Mapped[int] = mapped_column(default=0, server_default="0")
    satisfied_by_resident: Mapped[int] = mapped_column(default=0, server_default="0")
    # Of the cases logged, those handled at the counter (the on-the-spot rate's denominator).
    counter_logged: Mapped[int] = mapped_column(default=0, server_default="0")
    h0: Mapped[int] = mapped_column(default=0)
    h1: Mapped[int] = mapped_column(default=0)
    h2: Mapped[int] = mapped_column(default=0)
    h3: Mapped[int] = mapped_column(default=0)
    h4: Mapped[int] = mapped_column(default=0)
    h5: Mapped[int] = mapped_column(default=0)
    h6: Mapped[int] = mapped_column(default=0)
    h7: Mapped[int] = mapped_column(default=0)
    h8: Mapped[int] = mapped_column(default=0)
    h9: Mapped[int] = mapped_column(default=0)
    h10: Mapped[int] = mapped_column(default=0)
    h11: Mapped[int] = mapped_column(default=0)
    # Written by one transaction and not yet folded into its key's row by ``counters.compact``.
    delta: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class ChangeMark(db.Model):
    """That something changed that a worker may keep an answer of: a board's scope ("all", "place:12", "point:3",
    "team:1"), written by each transaction that changes one, or the directory and the catalog ("directory",
    "catalog"), written by database triggers. A row is inserted, never updated (so writers do not queue on it),
    and a board poll or a kept directory is checked against the newest from one index-only lookup. The sweep keeps
    the newest row of each key."""

    __tablename__ = "change_marks"
    # Ids are never reused (SQLite's AUTOINCREMENT; PostgreSQL's sequences never do): the ETag is built on them.
    __table_args__ = (sa.Index("ix_change_marks_key", "key", "id", "changed_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(24))
    changed_at: Mapped[datetime]


class MonthlyTopic(db.Model):
    """The month's topic of a board (每月一题): a hotspot, a place and a category, that a lead chose to work on
    proactively this month (``portal.domain.boards.hotspots``)."""

    __tablename__ = "monthly_topics"
    __table_args__ = (sa.UniqueConstraint("scope_key", "month", name="uq_monthly_topics_scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_key: Mapped[str] = mapped_column(sa.String(24))  # "all" (the district) or "place:<id>"
    month: Mapped[date]
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("places.id"))
    category: Mapped[str] = mapped_column(sa.String(40))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    chosen_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    chosen_at: Mapped[datetime]

    place: Mapped[Place] = relationship()  # noqa: F821 - portal.models.places
    chosen_by: Mapped[User] = relationship()


class WallScreen(db.Model):
    """A wall screen allowed to show one board's wall view without anyone signed in on it.

    The screen's address holds a random token; only its SHA-256 is kept, so the address is shown once,
    when a lead creates it. Revoking it stops the screen at its next poll. The wall view it opens shows
    figures, tiles and case numbers, never a resident's name or phone.
    """

    __tablename__ = "wall_screens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    # The board it shows: "district"/"all", or "place" and a place's code.
    scope_kind: Mapped[str] = mapped_column(sa.String(10), default="district")
    scope_code: Mapped[str] = mapped_column(sa.String(20), default="all")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship()
