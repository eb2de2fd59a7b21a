"""Cases (工单) and their timeline.

The status enum is here because the table stores it; what may happen to a status, and who may make
it happen, is in ``portal.domain.cases.lifecycle``. Nothing outside that module sets ``Case.status``.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.catalog import Mode, ServiceItem
from portal.models.choices import LabelledEnum
from portal.models.people import Team, User
from portal.models.places import Household, Place, Resident, ServicePoint


class CaseStatus(LabelledEnum):
    LOGGED = "logged", _l("Logged")
    CLAIMED = "claimed", _l("Claimed")
    IN_PROGRESS = "in_progress", _l("In progress")
    AWAITING_OFFICE = "awaiting_office", _l("Awaiting higher office")
    RESOLVED = "resolved", _l("Resolved")
    CLOSED = "closed", _l("Closed")
    RETURNED = "returned", _l("Returned")
    MERGED = "merged", _l("Merged")
    CANCELLED = "cancelled", _l("Cancelled")

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset(
    {
        CaseStatus.LOGGED,
        CaseStatus.CLAIMED,
        CaseStatus.IN_PROGRESS,
        CaseStatus.AWAITING_OFFICE,
        CaseStatus.RETURNED,
    }
)


class Channel(LabelledEnum):
    COUNTER = "counter", _l("Counter")
    PHONE = "phone", _l("Phone")
    WECHAT = "wechat", _l("WeChat")
    VISIT = "visit", _l("Home visit")
    KIOSK = "kiosk", _l("Kiosk")


class Priority(LabelledEnum):
    NORMAL = "normal", _l("Normal")
    URGENT = "urgent", _l("Urgent")


class Outcome(LabelledEnum):
    SOLVED = "solved", _l("Solved")
    PARTLY = "partly", _l("Partly solved")
    UNSOLVED = "unsolved", _l("Not solved")


class Satisfaction(LabelledEnum):
    SATISFIED = "satisfied", _l("Satisfied")
    BASICALLY = "basically", _l("Basically satisfied")
    DISSATISFIED = "dissatisfied", _l("Dissatisfied")
    UNRATED = "unrated", _l("Not rated")


class EventKind(LabelledEnum):
    LOGGED = "logged", _l("Logged")
    CLAIMED = "claimed", _l("Claimed")
    ASSIGNED = "assigned", _l("Assigned")
    STARTED = "started", _l("Work started")
    SENT_OFF = "sent_off", _l("Sent to higher office")
    OFFICE_ANSWERED = "office_answered", _l("Higher office answered")
    RESOLVED = "resolved", _l("Resolved")
    FINISHED_ON_SPOT = "finished_on_spot", _l("Finished on the spot")
    CALLBACK = "callback", _l("Callback")
    CLOSED = "closed", _l("Closed")
    RETURNED = "returned", _l("Returned")
    TRANSFERRED = "transferred", _l("Transferred")
    MERGED = "merged", _l("Merged")
    MATERIALS = "materials", _l("Materials handed over")
    REOPENED = "reopened", _l("Reopened")
    CANCELLED = "cancelled", _l("Cancelled")
    EDITED = "edited", _l("Details edited")
    VISIT_BOOKED = "visit_booked", _l("Visit booked")
    VISIT_MOVED = "visit_moved", _l("Visit moved")
    VISIT_STARTED = "visit_started", _l("Visit started")
    VISIT_CANCELLED = "visit_cancelled", _l("Visit cancelled")
    HANDED_OFF = "handed_off", _l("Handed off to an errand")
    ROUTED = "routed", _l("Routed")
    SIGN_MISSED = "sign_missed", _l("Not signed for in time")
    INCIDENT = "incident", _l("Linked to an incident")
    NOTE = "note", _l("Note")
    MESSAGES_STOPPED = "messages_stopped", _l("The resident asked for no more SMS")
    CALLBACK_ATTEMPT = "callback_attempt", _l("Callback attempt")
    EXTENSION_ASKED = "extension_asked", _l("Extension asked")
    EXTENDED = "extended", _l("Extended")
    EXTENSION_REFUSED = "extension_refused", _l("Extension refused")
    REMINDED = "reminded", _l("Reminder")
    OVERDUE = "overdue", _l("Overdue")
    SUPERVISED = "supervised", _l("Under supervision")
    RATED = "rated", _l("Rated by the resident")
    DUE_RECOMPUTED = "due_recomputed", _l("Time limit recomputed")  # the working calendar's days changed


LIVE_COLUMNS = ("status", "service_point_id", "place_id", "owner_id", "created_by_id", "mode", "team_id", "incident_id",
                "due_at", "overdue_flagged_at", "item_id")


class Case(db.Model):
    """A resident's request, from the first call or visit to the callback."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_status_created_at", "status", "created_at"),
        sa.Index("ix_cases_created_at", "created_at"),  # the "all" list, newest first
        # A place's cases by status; with the owner, the errand pool's "unassigned in my places" (issue 37.3).
        sa.Index("ix_cases_place_status", "place_id", "status", "owner_id"),
        sa.Index("ix_cases_point_status", "service_point_id", "status"),
        sa.Index("ix_cases_owner_status", "owner_id", "status"),
        sa.Index("ix_cases_requester_phone_created_at", "requester_phone", "created_at"),  # a caller's latest
        # Covers the queues' tab counts and the boards' live figures: the live cases (a small share) are read
        # from the index alone, not the table.
        sa.Index("ix_cases_live", *LIVE_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_items.id"))
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("residents.id"))
    requester_name: Mapped[str] = mapped_column(sa.String(50))
    requester_phone: Mapped[str] = mapped_column(sa.String(20))
    place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("places.id"))
    # Free-text address when the caller's household is not (yet) in the register.
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    service_point_id: Mapped[int] = mapped_column(sa.ForeignKey("service_points.id"))
    channel: Mapped[Channel]
    description: Mapped[str] = mapped_column(sa.Text)
    mode: Mapped[Mode]
    status: Mapped[CaseStatus] = mapped_column(default=CaseStatus.LOGGED)
    priority: Mapped[Priority] = mapped_column(default=Priority.NORMAL)
    due_at: Mapped[datetime | None]
    # Sign for (签收) by; the 75 % reminder (催办) at; call back (回访) by.
    sign_due_at: Mapped[datetime | None]
    remind_at: Mapped[datetime | None] = mapped_column(index=True)
    # When the sweep sent the 75 % reminder and flagged the case overdue, for the current due time.
    reminded_at: Mapped[datetime | None]
    overdue_flagged_at: Mapped[datetime | None]
    # When the sweep found the case not signed for by its sign-for due.
    sign_missed_at: Mapped[datetime | None]
    callback_due_at: Mapped[datetime | None]
    # Until when the resident may answer by the link of the result's SMS; the clerk's callback waits till then.
    answer_until: Mapped[datetime | None]
    # When the resident asked to be called again (after an unanswered callback).
    callback_retry_at: Mapped[datetime | None]
    callback_attempts: Mapped[int] = mapped_column(default=0)
    on_spot: Mapped[bool] = mapped_column(default=False)
    # Resolved without the resident travelling (an errand carried off the island, a visit at home).
    trip_saved: Mapped[bool] = mapped_column(default=False)
    # Proactive work (主动服务), not a resident's request (受理): a scheduled care visit, a campaign's finding, or what
    # one of them uncovered. Fixed at logging; the boards count the two apart (docs/METRICS.md).
    proactive: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    rated_by_resident: Mapped[bool] = mapped_column(default=False)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    redo_count: Mapped[int] = mapped_column(default=0)
    transfer_count: Mapped[int] = mapped_column(default=0)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    # The case this one came from (an errand that a home visit uncovered).
    origin_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    # The estate incident this call belongs to (it is resolved with the incident).
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    outcome: Mapped[Outcome | None]
    satisfaction: Mapped[Satisfaction | None]
    callback_comment: Mapped[str] = mapped_column(sa.Text, default="")
    # Optimistic lock: every edit form carries it, and every UPDATE checks it.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    item: Mapped[ServiceItem] = relationship()
    household: Mapped[Household | None] = relationship()
    resident: Mapped[Resident | None] = relationship()
    place: Mapped[Place | None] = relationship()
    service_point: Mapped[ServicePoint] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    team: Mapped[Team | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    merged_into: Mapped[Case | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])
    origin: Mapped[Case | None] = relationship(remote_side=[id], foreign_keys=[origin_id])
    incident: Mapped[Incident | None] = relationship(back_populates="cases")  # noqa: F821 - models.heating
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", passive_deletes=True
    )
    callbacks: Mapped[list[CallbackRecord]] = relationship(
        back_populates="case", order_by="CallbackRecord.id", passive_deletes=True
    )
    materials: Mapped[list[CaseMaterial]] = relationship(  # noqa: F821 - portal.models.errands
        back_populates="case", order_by="CaseMaterial.id", passive_deletes=True
    )
    attachments: Mapped[list[Attachment]] = relationship(  # noqa: F821 - portal.models.errands
        back_populates="case", order_by="Attachment.id", passive_deletes=True
    )
    visits: Mapped[list[Visit]] = relationship(  # noqa: F821 - portal.models.visits
        back_populates="case", order_by="Visit.id", passive_deletes=True
    )

    def is_overdue(self, at: datetime | None = None) -> bool:
        at = at or clock.now()
        return self.status.is_open and self.due_at is not None and self.due_at < at

    def __repr__(self) -> str:
        return f"<Case {self.number}>"


class CaseEvent(db.Model):
    """One step on a case's timeline; ``public`` events are shown to the resident."""

    __tablename__ = "case_events"
    __table_args__ = (sa.Index("ix_case_events_case_id_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Who acted when it was not a signed-in user: "自助终端 kiosk-1", "系统".
    actor_label: Mapped[str] = mapped_column(sa.String(80), default="")
    kind: Mapped[EventKind]
    from_status: Mapped[CaseStatus | None]
    to_status: Mapped[CaseStatus | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    public: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict | None] = mapped_column(sa.JSON)
    # When the user acted, by their device, when that was before the step arrived (``at``): a step kept in the
    # browser's outbox while the link was down. The time limits and boards count ``at``.
    acted_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CaseEvent {self.case_id} {self.kind}>"


class CaseNumberCounter(db.Model):
    """The last sequence number given out per prefix and local day, for LS-20261128-0001."""

    __tablename__ = "case_number_counters"

    prefix: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class CallbackRecord(db.Model):
    """One finished callback (回访): the outcome and satisfaction given, or none when the resident
    could not be reached after three attempts. The boards' resolution, satisfaction, callback and
    redo rates are counted from these rows."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    outcome: Mapped[Outcome | None]
    satisfaction: Mapped[Satisfaction]
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    by_resident: Mapped[bool] = mapped_column(default=False)
    redo: Mapped[bool] = mapped_column(default=False)

    case: Mapped[Case] = relationship(back_populates="callbacks")
    actor: Mapped[User | None] = relationship()


class CaseViewer(db.Model):
    """Who has a case open right now (refreshed while the page is open), so two people do not
    work it twice. Rows older than a minute mean nothing and are overwritten."""

    __tablename__ = "case_viewers"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=clock.now)

    user: Mapped[User] = relationship()


class CannedReply(db.Model):
    """A stock phrase (常用语) offered for notes, for one service item or all, in one state or all, under one action's
    text field or all (``action``: a transition's name, or "note" for the note form; None for every one)."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_items.id"), index=True)
    status: Mapped[CaseStatus | None]
    action: Mapped[str | None] = mapped_column(sa.String(30))
    text: Mapped[str] = mapped_column(sa.String(500))
    active: Mapped[bool] = mapped_column(default=True)

    item: Mapped[ServiceItem | None] = relationship()
