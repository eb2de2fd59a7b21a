"""The spreadsheets the portal writes (exports, roster templates, rows with errors) and their downloads.

Text is always written as text. In XLSX a cell of type string shows "=HYPERLINK(...)" and never runs it;
CSV has no types, so there text that a spreadsheet would take for a formula gets a leading apostrophe.
CSV starts with a BOM, so that Excel on a Chinese PC reads it as UTF-8. Downloads are never cached.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from flask import Response

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.styles import Font

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# openpyxl (some 20 MB of a worker's memory) is loaded when a spreadsheet is first written or read, not by every
# worker when it starts: every module makes, styles and reads its workbooks through the functions below.

def workbook(write_only: bool = False) -> Workbook:
    from openpyxl import Workbook

    return Workbook(write_only=write_only)


def font(**style) -> Font:
    """A cell's font: ``bold=True``, ``size=13``, ``color="B4232C"``..."""
    from openpyxl.styles import Font

    return Font(**style)


def fill(color: str):
    """A cell's solid background of ``color`` (hex RGB)."""
    from openpyxl.styles import PatternFill

    return PatternFill("solid", fgColor=color)


def read(data, **options) -> Workbook:
    """A workbook read from a path or a file object (``read_only=True``, ``data_only=False``...)."""
    from openpyxl import load_workbook

    return load_workbook(data, **options)


def cell(sheet, value, font: Font | None = None):
    """An XLSX cell of ``sheet`` (write-only or not) holding ``value``; text stays text."""
    from openpyxl.cell import WriteOnlyCell

    made = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        made.data_type = "s"
    if isinstance(value, datetime):
        made.number_format = "yyyy-mm-dd hh:mm"
    if font is not None:
        made.font = font
    return made


def cells(sheet, values, font: Font | None = None) -> list:
    """A row of cells for ``sheet.append``."""
    return [cell(sheet, value, font) for value in values]


def csv_text(value) -> str:
    """``value`` as the text of a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def download(data: bytes | str, filename: str, mimetype: str) -> Response:
    """``data`` as a file to save under ``filename`` (which may be Chinese), never cached."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={quote(filename)}; filename*=UTF-8''{quote(filename)}"
    response.headers["Cache-Control"] = "no-store"
    return response


def xlsx_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_download(book: Workbook, filename: str) -> Response:
    return download(xlsx_bytes(book), filename, XLSX)


def csv_download(rows: Iterable[Iterable], filename: str) -> Response:
    """Rows (the header first) as CSV in UTF-8 with a BOM, every cell through ``csv_text``."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer).writerows([csv_text(value) for value in row] for row in rows)
    return download(buffer.getvalue(), filename, "text/csv")
