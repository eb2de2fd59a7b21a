"""The cases behind a board figure as a file: CSV in UTF-8 with a BOM (so that Excel on a Chinese PC
opens it right) or XLSX. Names and phones are masked; no text a spreadsheet would run as a formula."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask import Response
from flask_babel import gettext as _

from portal import clock, spreadsheets
from portal.domain.boards.periods import Period
from portal.domain.platform import audit, privacy
from portal.models import Case, Place, ServiceItem, ServicePoint, User
from portal.web.i18n import localized


def headers() -> list[str]:
    return [_("Case number"), _("Service item"), _("Category"), _("Place"), _("Service point"), _("Channel"),
            _("Status"), _("Logged at"), _("Due"), _("Resolved at"), _("Owner"), _("Requester"), _("Phone"),
            _("Satisfaction")]


def _local(moment: datetime | None) -> datetime | None:
    return clock.local(moment).replace(tzinfo=None, microsecond=0) if moment is not None else None


# The columns a file shows of each case, read as plain rows (``rows_of``), never ORM objects.
COLUMNS = (Case.number, ServiceItem.name_zh.label("item_name_zh"), ServiceItem.name_en.label("item_name_en"),
           ServiceItem.category_zh, Place.name_zh.label("place_name_zh"), Place.name_en.label("place_name_en"),
           Case.place_id, ServicePoint.name_zh.label("point_name_zh"), ServicePoint.name_en.label("point_name_en"),
           Case.channel, Case.status, Case.created_at, Case.due_at, Case.resolved_at,
           User.display_name.label("owner_name"), Case.requester_name, Case.requester_phone, Case.satisfaction)


def rows_of(cases: sa.Select) -> sa.Select:
    """``COLUMNS`` of the cases of ``cases`` (a select of ``Case``: ``board.cases_behind``), in its order."""
    return (cases.with_only_columns(*COLUMNS)
            .join(ServiceItem, ServiceItem.id == Case.item_id)
            .outerjoin(Place, Place.id == Case.place_id)
            .join(ServicePoint, ServicePoint.id == Case.service_point_id)
            .outerjoin(User, User.id == Case.owner_id))


def row(case: sa.Row) -> list:
    """One case (a row of ``COLUMNS``) as a row of the file: times are local, without a zone (as a spreadsheet
    expects)."""
    return [
        case.number, localized(case, "item_name"), case.category_zh,
        localized(case, "place_name") if case.place_id is not None else "",
        localized(case, "point_name"), str(case.channel.label), str(case.status.label),
        _local(case.created_at), _local(case.due_at), _local(case.resolved_at),
        case.owner_name or "", privacy.mask_name(case.requester_name),
        privacy.mask_phone(case.requester_phone), str(case.satisfaction.label) if case.satisfaction else "",
    ]


def csv_response(cases: Iterable[sa.Row], name: str) -> Response:
    return spreadsheets.csv_download([headers(), *(row(case) for case in cases)], f"{name}.csv")


def xlsx_response(cases: Iterable[sa.Row], name: str, title: str) -> Response:
    book = spreadsheets.workbook(write_only=True)
    sheet = book.create_sheet(_("Cases"))
    sheet.freeze_panes = "A3"
    sheet.append([spreadsheets.cell(sheet, title, spreadsheets.font(bold=True, size=13))])
    sheet.append(spreadsheets.cells(sheet, headers(), spreadsheets.font(bold=True)))
    for case in cases:
        sheet.append(spreadsheets.cells(sheet, row(case)))
    return spreadsheets.xlsx_download(book, f"{name}.xlsx")


def audit_export(user: User, what: str, period: Period, count: int) -> None:
    """Personal data leaving the portal is written down: who, which figure, which days, how many."""
    audit.record_alone("export", actor=user, object_type="cases", object_id=what,
                       reason=f"{period.first}..{period.last}: {count}")
