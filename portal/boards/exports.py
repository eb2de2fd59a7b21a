"""The cases behind a board figure as a file: CSV in UTF-8 with a BOM (so that Excel on a Chinese PC
opens it right) or XLSX. Names and phones are masked; no text a spreadsheet would run as a formula."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import Response
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from portal import clock, spreadsheets
from portal.domain.boards.periods import Period
from portal.domain.platform import audit, privacy
from portal.models import Case, User
from portal.web.i18n import localized


def headers() -> list[str]:
    return [_("Case number"), _("Service item"), _("Category"), _("Place"), _("Service point"), _("Channel"),
            _("Status"), _("Logged at"), _("Due"), _("Resolved at"), _("Owner"), _("Requester"), _("Phone"),
            _("Satisfaction")]


def _local(moment: datetime | None) -> datetime | None:
    return clock.local(moment).replace(tzinfo=None, microsecond=0) if moment is not None else None


def row(case: Case) -> list:
    """One case as a row: times are local, without a zone (as a spreadsheet expects)."""
    return [
        case.number, localized(case.item), case.item.category_zh, localized(case.place) if case.place else "",
        localized(case.service_point), str(case.channel.label), str(case.status.label),
        _local(case.created_at), _local(case.due_at), _local(case.resolved_at),
        case.owner.display_name if case.owner else "", privacy.mask_name(case.requester_name),
        privacy.mask_phone(case.requester_phone), str(case.satisfaction.label) if case.satisfaction else "",
    ]


def csv_response(cases: Iterable[Case], name: str) -> Response:
    return spreadsheets.csv_download([headers(), *(row(case) for case in cases)], f"{name}.csv")


def xlsx_response(cases: Iterable[Case], name: str, title: str) -> Response:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Cases"))
    sheet.freeze_panes = "A3"
    sheet.append([spreadsheets.cell(sheet, title, Font(bold=True, size=13))])
    sheet.append(spreadsheets.cells(sheet, headers(), Font(bold=True)))
    for case in cases:
        sheet.append(spreadsheets.cells(sheet, row(case)))
    return spreadsheets.xlsx_download(book, f"{name}.xlsx")


def audit_export(user: User, what: str, period: Period, count: int) -> None:
    """Personal data leaving the portal is written down: who, which figure, which days, how many."""
    audit.record_alone("export", actor=user, object_type="cases", object_id=what,
                       reason=f"{period.first}..{period.last}: {count}")
