"""Cells of the spreadsheets the portal writes: exports, roster templates, rows with errors.

Text is always written as text. In XLSX a cell of type string shows "=HYPERLINK(...)" and never runs it;
CSV has no types, so there text that a spreadsheet would take for a formula gets a leading apostrophe.
"""
from __future__ import annotations

from datetime import datetime

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(sheet, value, font: Font | None = None):
    """An XLSX cell of ``sheet`` (write-only or not) holding ``value``; text stays text."""
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
