"""The service catalog: what a resident can ask for, and how it is handled."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.choices import LabelledEnum


class Mode(LabelledEnum):
    """How a case is handled: at the counter, as a proxy errand, or by a visit at home."""

    COUNTER = "counter", _l("At the counter")
    ERRAND = "errand", _l("Proxy errand")
    HOME = "home", _l("Home visit")


class ServiceItem(db.Model):
    """An entry of the service catalog (服务事项目录)."""

    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    category_zh: Mapped[str] = mapped_column(sa.String(40))
    category_en: Mapped[str] = mapped_column(sa.String(60), default="")
    name_zh: Mapped[str] = mapped_column(sa.String(80))
    name_en: Mapped[str] = mapped_column(sa.String(120), default="")
    # Other names residents use, space-separated ("低保申请" for 最低生活保障申请).
    keywords: Mapped[str] = mapped_column(sa.String(200), default="")
    # Pinyin initials and full pinyin of the name and keywords ("zdshbzsq dbsq ..."), kept by
    # portal.domain.platform.directory for search as you type.
    pinyin: Mapped[str] = mapped_column(sa.String(600), default="")
    mode: Mapped[Mode]
    needs_approval: Mapped[bool] = mapped_column(default=False)
    # How many journeys off the island (往返) resolving it on the island spares the resident, whatever the mode:
    # 0 (never needed the mainland), 1, 2 (an approval item: hand in, then collect) (docs/METRICS.md, "journeys").
    journeys: Mapped[int] = mapped_column(default=0, server_default="0")
    # Time limit; counted in working hours, or in calendar hours for urgent items.
    sla_hours: Mapped[int]
    urgent: Mapped[bool] = mapped_column(default=False)
    # Working days an item took to finish before the network (入网前), as the admin records it: the results report
    # measures the efficiency gain against it (docs/METRICS.md); None leaves the item out of the gain.
    baseline_working_days: Mapped[float | None] = mapped_column(sa.Float)
    # Required materials, one per line.
    materials: Mapped[str] = mapped_column(sa.Text, default="")
    approving_office: Mapped[str] = mapped_column(sa.String(80), default="")
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def saves_trip(self) -> bool:
        return self.journeys > 0

    @property
    def material_list(self) -> list[str]:
        return [m.strip() for m in self.materials.splitlines() if m.strip()]

    def __repr__(self) -> str:
        return f"<ServiceItem {self.code}>"
