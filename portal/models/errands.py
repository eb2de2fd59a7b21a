"""Party-member proxy errands (党员代办): the original documents a proxy carries, who holds each one
now and every handover, and the scans or photos kept with a case."""
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


class Holder(LabelledEnum):
    """Who holds an original document: it travels resident → proxy → office → (the off-island hall →) proxy →
    resident."""

    RESIDENT = "resident", _l("The resident")
    PROXY = "proxy", _l("The proxy")
    OFFICE = "office", _l("The higher office")
    HALL = "hall", _l("The off-island service hall")  # kept there for the proxy, after the hall took the answer


class SignatureKind(LabelledEnum):
    """How the one handing over (or receiving, see ``domain.errands``) signed a handover."""

    DRAWN = "drawn", _l("signed on the screen")
    PHOTO = "photo", _l("photo of the signed slip")


class CaseMaterial(db.Model):
    """One document of a case's checklist, and who holds it now (one holder at a time)."""

    __tablename__ = "case_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    holder: Mapped[Holder] = mapped_column(default=Holder.RESIDENT)
    # The person holding it, while a proxy (or whoever works the errand) or the off-island hall's clerk does.
    holder_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    since: Mapped[datetime] = mapped_column(default=clock.now)
    # Added later because the office asked for more (补充材料).
    added_later: Mapped[bool] = mapped_column(default=False)

    case: Mapped[Case] = relationship(back_populates="materials")
    holder_user: Mapped[User | None] = relationship()
    handovers: Mapped[list[MaterialHandover]] = relationship(back_populates="material", order_by="MaterialHandover.id")


class MaterialHandover(db.Model):
    """A document changing hands, with who confirmed it (the resident, the office's clerk...)."""

    __tablename__ = "material_handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("case_materials.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=clock.now)
    from_holder: Mapped[Holder]
    to_holder: Mapped[Holder]
    by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_by: Mapped[str] = mapped_column(sa.String(50))
    # The signature of the person named in ``confirmed_by``: drawn on the phone's screen (a PNG) or a photo of the
    # signed slip, kept as a file of the case. Every document of one step shares it.
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachments.id", ondelete="SET NULL"))
    signature_kind: Mapped[SignatureKind | None]

    material: Mapped[CaseMaterial] = relationship(back_populates="handovers")
    by: Mapped[User] = relationship()
    signature: Mapped[Attachment | None] = relationship()


class Attachment(db.Model):
    """A photo or file of a case (a receipt, an approval, a burst pipe) kept under instance/uploads/, named by its
    checksum (``portal.domain.cases.attachments``)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(120))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    thumb_sha256: Mapped[str | None] = mapped_column(sa.String(64))  # a photo's small JPEG, for the case page
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=clock.now)

    case: Mapped[Case] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User] = relationship()
