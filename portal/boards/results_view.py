"""The results report as it is read: its sections of rows (a figure, the period, the same period a year before, the
change), made once here for the page, the Word document and the workbook, so that the three say the same; and the
two files themselves (python-docx, openpyxl)."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from flask import get_template_attribute
from flask_babel import gettext as _
from markupsafe import Markup

from portal import spreadsheets
from portal.domain.boards.metrics import Rate
from portal.domain.boards.results import Results
from portal.domain.boards.shares import Share, Shares
from portal.web.i18n import localized

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class Row:
    label: str
    now: str
    before: str
    change: float | None = None
    unit: str = "count"          # count, rate (percentage points), days, yuan, hours
    lower_is_better: bool = False
    compared: bool = True        # False: a row with nothing to compare (a baseline) prints no change

    @property
    def change_text(self) -> str:
        """The change as printed in the files (the page prints it with ``delta``): 无对比 when there is none."""
        if not self.compared:
            return ""
        if self.change is None:
            return _("no comparison")
        shown = self.change if self.unit == "count" else round(self.change, 1) + 0.0
        arrow = "▲" if shown > 0 else ("▼" if shown < 0 else "＝")
        number = f"{shown:+,.0f}" if self.unit in ("count", "yuan", "hours") else (
            "0.0" if shown == 0 else f"{shown:+.1f}")
        suffix = {"rate": " " + _("pts"), "days": " " + _("days"), "hours": " " + _("h"), "yuan": ""}.get(self.unit, "")
        return f"{arrow} {'¥' if self.unit == 'yuan' else ''}{number}{suffix}"


@dataclass
class Section:
    title: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)


def rate_text(rate: Rate) -> str:
    return "—" if rate.value is None else f"{rate.value * 100:.1f}% ({rate.numerator}/{rate.denominator})"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def assumptions(report: Results) -> str:
    """What the trips' money and hours assume: the boards' own sentence (their macro), as plain text."""
    return Markup(get_template_attribute("boards/_macros.html", "trip_assumptions")(report.trip, report.trips)).striptags()


def title(report: Results) -> str:
    subject = localized(report.scope.subject) if report.scope.subject else str(report.scope.kind.title)
    return _("Results report: %(subject)s", subject=subject)


def period_text(report: Results) -> str:
    return _("%(first)s to %(last)s, beside the same days a year before (%(before_first)s to %(before_last)s)",
             first=report.period.first, last=report.period.last, before_first=report.before.first,
             before_last=report.before.last)


def sections(report: Results) -> list[Section]:
    """What the report says, in order."""
    f, p = report.figures, report.previous

    def rate_row(label: str, name: str) -> Row:
        return Row(label, rate_text(getattr(f, name)), rate_text(getattr(p, name)), report.change(name), "rate")

    headline = Section(_("Items handled"), [
        Row(_("Items logged"), str(f.logged), str(p.logged), report.change("logged")),
        Row(_("Items handled (resolved)"), str(f.resolved), str(p.resolved), report.change("resolved")),
        Row(_("Proactive work done (not requests)"), str(f.proactive_resolved), str(p.proactive_resolved),
            report.change("proactive_resolved")),
        Row(_("Finished on the island, without a trip"), rate_text(report.island), rate_text(report.previous_island),
            report.change("island"), "rate"),
        rate_row(_("On-the-spot rate"), "on_the_spot"),
        rate_row(_("On-time resolution rate"), "on_time_resolution"),
        rate_row(_("Response rate"), "timely_sign_for"),
        rate_row(_("Resolution rate"), "resolution"),
    ], [_("Finished on the island: items resolved at the island's service center and posts, of those resolved "
          "there and at the off-island service hall. Heating stations are not part of it.")])

    e, pe = report.efficiency, report.previous_efficiency
    efficiency = Section(_("Efficiency against before the network"), [
        Row(_("Items measured (with a baseline)"), str(e.counted), str(pe.counted), None, compared=False),
        Row(_("Average working days to finish"), _days(e.average_days), _days(pe.average_days),
            report.change("average_days"), "days", lower_is_better=True),
        Row(_("Average working days before the network"), _days(e.average_baseline), _days(pe.average_baseline),
            None, compared=False),
        Row(_("Time to finish cut by"), _percent(e.gain), _percent(pe.gain), report.change("gain"), "rate"),
    ], [_("Method: for every item resolved in the period whose catalog entry records how many working days it took "
          "before the network, the working days from logging to resolution are counted on the calendar of the "
          "service point that resolved it; the time cut is 1 − (their sum ÷ the sum of the baselines of the same "
          "items). A case redone and resolved again is measured again, from its logging.")])
    if e.left_out:
        efficiency.notes.append(_("%(count)s resolutions of %(items)s items without a baseline are left out of the "
                                  "gain (%(codes)s).", count=e.left_out, items=e.items_left_out,
                                  codes="、".join(report.baselines_missing)))
    else:
        efficiency.notes.append(_("Every item resolved in the period has a baseline."))

    saved = Section(_("Trips, hours and money saved"), [
        Row(_("Trips off the island saved"), str(report.trips), str(report.previous_trips), report.change("trips")),
        Row(_("Residents' travel time saved"), _("%(hours)s h", hours=f"{report.hours_saved:,.0f}"),
            _("%(hours)s h", hours=f"{report.previous_hours_saved:,.0f}"), report.change("hours_saved"), "hours"),
        Row(_("Residents' cost saved"), f"¥{report.cost_saved:,.0f}", f"¥{report.previous_cost_saved:,.0f}",
            report.change("cost_saved"), "yuan"),
    ], [assumptions(report)])

    satisfaction = Section(_("Satisfaction by who answered"), [
        rate_row(_("Satisfaction rate"), "satisfaction"),
        rate_row(_("Answered by the resident (SMS link, answer page, kiosk)"), "resident_satisfaction"),
        rate_row(_("Answered to a clerk's callback"), "called_satisfaction"),
    ], [_("Each answer is counted with the resolution it follows; satisfied or basically satisfied, of the answers "
          "that gave a rating.")])

    modes = Section(_("Items handled by mode"), [Row(line.label, str(line.now), str(line.before), line.change)
                                                 for line in report.modes])
    if report.proactive.now or report.proactive.before:
        line = report.proactive
        modes.rows.append(Row(line.label, str(line.now), str(line.before), line.change))
        modes.notes.append(_("Proactive work (care visits, campaign visits and their findings) is the offices' own, "
                             "not a resident's request: it is listed apart and is not among the items handled."))
    categories = Section(_("Items handled by category"), [Row(line.label, str(line.now), str(line.before),
                                                              line.change) for line in report.categories])
    if report.scope.heating_only:  # estates: no journey off the island to save, no island to finish on
        headline.rows = [row for row in headline.rows if row.label != _("Finished on the island, without a trip")]
        headline.notes = []
        return [headline, efficiency, satisfaction, modes, categories]
    return [headline, efficiency, saved, satisfaction, modes, categories]


def header_parts(report: Results) -> list[tuple[str, str]]:
    """The columns' headings, each with the days it covers (the page prints them on two lines)."""
    return [(_("Figure"), ""), (_("This period"), f"{report.period.first:%Y-%m-%d}—{report.period.last:%Y-%m-%d}"),
            (_("Year before"), f"{report.before.first:%Y-%m-%d}—{report.before.last:%Y-%m-%d}"),
            (_("Year on year"), "")]


def headers(report: Results) -> list[str]:
    return [f"{title} {days}".strip() for title, days in header_parts(report)]


# --- the files --------------------------------------------------------------------------------------------------

def docx_bytes(report: Results, printed: str) -> bytes:
    """The report as a Word document on A4, portrait. python-docx (some 20 MB with lxml's parts) is loaded by the
    worker that writes one, not by every worker at start."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    document = Document()
    page = document.sections[0]
    page.orientation, page.page_width, page.page_height = WD_ORIENT.PORTRAIT, Mm(210), Mm(297)
    page.left_margin = page.right_margin = Mm(18)
    page.top_margin = page.bottom_margin = Mm(16)
    normal = document.styles["Normal"]
    normal.font.size, normal.font.name = Pt(10.5), "SimSun"
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")  # Word's Chinese text in a Chinese face
    document.add_heading(title(report), level=1)
    document.add_paragraph(period_text(report))
    head = headers(report)
    for section in sections(report):
        document.add_heading(section.title, level=2)
        table = document.add_table(rows=1, cols=len(head))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, head, strict=True):
            cell.text = text
            for run in cell.paragraphs[0].runs:
                run.bold = True
        for row in section.rows or [Row(_("Nothing in this period."), "", "", compared=False)]:
            for cell, text in zip(table.add_row().cells, (row.label, row.now, row.before, row.change_text),
                                  strict=True):
                cell.text = text
        for note in section.notes:
            document.add_paragraph(note).runs[0].font.size = Pt(9)
    document.add_paragraph(printed).runs[0].font.size = Pt(9)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(report: Results, printed: str) -> bytes:
    """The report as a workbook: one sheet, its sections one under the other; text stays text."""
    book = spreadsheets.workbook(write_only=True)
    sheet = book.create_sheet(_("Results"))
    bold = spreadsheets.font(bold=True)
    sheet.append([spreadsheets.cell(sheet, title(report), spreadsheets.font(bold=True, size=13))])
    sheet.append([spreadsheets.cell(sheet, period_text(report))])
    for section in sections(report):
        sheet.append([])
        sheet.append([spreadsheets.cell(sheet, section.title, bold)])
        sheet.append(spreadsheets.cells(sheet, headers(report), bold))
        for row in section.rows:
            sheet.append(spreadsheets.cells(sheet, [row.label, row.now, row.before, row.change_text]))
        for note in section.notes:
            sheet.append([spreadsheets.cell(sheet, note)])
    sheet.append([])
    sheet.append([spreadsheets.cell(sheet, printed)])
    return spreadsheets.xlsx_bytes(book)


def download(data: bytes, filename: str, fmt: str):
    return spreadsheets.download(data, filename, DOCX if fmt == "docx" else spreadsheets.XLSX)


# --- everyone's share -------------------------------------------------------------------------------------------

def share_name(share: Share) -> str:
    who = share.who
    return localized(who) if hasattr(who, "name_zh") else who.display_name


def totals(rows: list[Share]) -> Share:
    """The sum of a table's rows (for a team table, the scope's resolutions counted for teams)."""
    total = Share(None)
    for row in rows:
        total.resolved += row.resolved
        total.on_time += row.on_time
        total.rated += row.rated
        total.satisfied += row.satisfied
        total.visits += row.visits
        total.documents += row.documents
    return total


def shares_context(found: Shares) -> dict:
    return {"shares": found, "share_name": share_name, "totals": totals}
