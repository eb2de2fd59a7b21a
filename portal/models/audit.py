"""The append-only audit log.

Nothing in the code updates or deletes a row here, and the database refuses to (triggers created by
the migration). Phones and ID numbers are masked before they are written.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(80), default="")
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[str] = mapped_column(sa.String(40), default="")
    # {"field": [old, new], ...}, masked.
    changes: Mapped[dict | None] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
