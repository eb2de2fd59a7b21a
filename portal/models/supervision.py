"""Keeping cases on time: extension requests (延期), supervision of problem cases (督办), and the
notifications that remind people (催办)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.extensions import db
from portal.models.cases import Case
from portal.models.choices import LabelledEnum
from portal.models.people import User


class ExtensionStatus(LabelledEnum):
    PENDING = "pending", _l("Waiting for a decision")
    APPROVED = "approved", _l("Approved")
    REFUSED = "refused", _l("Refused")
    WITHDRAWN = "withdrawn", _l("Withdrawn")


class ExtensionRequest(db.Model):
    """An owner's request to move a case's due time, and the lead's decision."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=clock.now)
    reason: Mapped[str] = mapped_column(sa.Text)
    old_due_at: Mapped[datetime]
    new_due_at: Mapped[datetime]
    status: Mapped[ExtensionStatus] = mapped_column(default=ExtensionStatus.PENDING, index=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")

    case: Mapped[Case] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class SupervisionReason(LabelledEnum):
    REDONE = "redone", _l("Redone three times")
    TRANSFERRED = "transferred", _l("Transferred three times")
    LEAD = "lead", _l("Put under supervision by a lead")


class Supervision(db.Model):
    """A problem case (问题工单) on the lead's supervision list (督办)."""

    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    reason: Mapped[SupervisionReason]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    responsible_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    deadline: Mapped[datetime | None]
    instruction: Mapped[str] = mapped_column(sa.Text, default="")
    closed_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
    responsible: Mapped[User | None] = relationship()


class Notification(db.Model):
    """A message for one user inside the portal; the outbox also carries it by SMS and e-mail.

    ``key`` makes reminders idempotent: the sweep never writes the same reminder twice.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),
        sa.Index("ix_notifications_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(24))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    read_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    case: Mapped[Case | None] = relationship()
