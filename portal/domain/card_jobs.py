"""Convenience cards (便民服务卡) as printable PDF sheets, made by a background job (``platform.jobs``) that a lead
starts and comes back to: eight cards to an A4 sheet, each building of an estate starting a sheet of its own (the
sheets go to the building's butler as they are), the whole district as one file per estate in a ZIP.

A card names the household's address, the estate's butler and phone, the station's hotline and a QR code whose
address is the one public address (``platform.public_address``), never a request's host. It says "24 小时" beside
a number only where that number answers at night (``heating.round_the_clock``: the butlers are on call, or the duty
roster covers every night to the end of the heating season); the result says which number each estate's cards call so.

The text is set in a CJK font from the machine (``CARDS_FONT``: Debian's fonts-wqy-microhei, which `.ci/run` and the
deployment install), embedded as the subset the cards use, so a sheet prints the same on any printer.
"""
from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from segno import helpers

from portal import clock
from portal.domain import DomainError, NotFound, access, heating
from portal.domain.platform import files, jobs, public_address, unit
from portal.extensions import begin_mode, db
from portal.models import Household, Job, JobStatus, Place, PlaceKind, User

if TYPE_CHECKING:
    from fpdf import FPDF

KIND = "cards_pdf"
PER_SHEET = 8
BATCH = 400  # households read at a time (and the job's progress reported)
# An A4 sheet (mm): two columns of four cards, 92 × 66 mm each, cut along their thin frames.
CARD_W, CARD_H, GAP, LEFT, TOP = 92.0, 66.0, 4.0, 11.0, 14.0
QR_MM = 30.0
MASK = 2


@dataclass
class CardFace:
    address: str
    url: str


def _folder() -> Path:
    folder = files.folder() / "cards"
    files.private_folder(folder)  # a sheet lists households' addresses
    return folder


def font() -> Path:
    path = Path(current_app.config["CARDS_FONT"])
    if not path.is_file():
        raise DomainError(_l("The cards' Chinese font is not installed on the server (%(path)s): ask the "
                             "administrator to install fonts-wqy-microhei.", path=str(path)))
    return path


# --- starting and fetching ------------------------------------------------------------------------------------

def start(actor: User, estates: list[Place], building: str | None = None) -> Job:
    """Queue the cards of ``estates`` (or of one building of one estate) as PDF sheets for ``actor``."""
    if not estates or any(p.kind is not PlaceKind.ESTATE for p in estates):
        raise DomainError(_l("Choose the estates to print."), field="estate")
    for estate in estates:
        access.require(actor, "estate.cards", estate, _l("Choose estates you cover."))
    building = (building or "").strip() or None
    if building and len(estates) != 1:
        raise DomainError(_l("A building is chosen within one estate."), field="building")
    if building and building not in heating.buildings(estates[0]):
        raise DomainError(_l("%(estate)s has no building “%(building)s”: choose one from the list.",
                             estate=estates[0].name_zh, building=building), field="building")
    if public_address.base() is None:
        raise DomainError(_l("Cards are not printed while the portal's public address (PUBLIC_BASE_URL) is not set: "
                             "their QR codes would open nothing. Ask the administrator to set it."))
    font()
    return jobs.start(KIND, actor, {"estates": [p.id for p in estates], "building": building,
                                    "filename": "、".join(p.name_zh for p in estates[:3])
                                    + ("…" if len(estates) > 3 else "") + (f" · {building}" if building else "")})


def recent(user: User) -> list[Job]:
    return jobs.recent(user, (KIND,))


def download(job: Job, user: User) -> tuple[Path, str]:
    """The file a finished card job of ``user``'s made, and the name to save it as."""
    access.require(user, "job.view", job)
    if job.kind != KIND or job.status is not JobStatus.DONE or not job.result:
        raise NotFound(_l("These cards are not ready."))
    path = _folder() / job.result["file"]
    if not path.is_file():
        raise NotFound(_l("This file is no longer kept; start the cards again."))
    return path, job.result["download_as"]


# --- the job ---------------------------------------------------------------------------------------------------

@jobs.task(KIND)
def _make(params: dict, progress: jobs.Progress) -> dict:
    with begin_mode("DEFERRED"):  # the cards only read
        owner = db.session.get(Job, progress.job_id).user
        if owner is None:
            raise DomainError(_l("The person who started these cards no longer has an account."))
        estates = [db.session.get(Place, pid) for pid in params["estates"]]
        for estate in estates:  # covered when started; still covered now?
            if estate is None or not access.can(owner, "estate.cards", estate):
                raise DomainError(_l("Choose estates you cover."))
        base = public_address.base()
        if base is None:
            raise DomainError(_l("Cards are not printed while the portal's public address (PUBLIC_BASE_URL) is not "
                                 "set: their QR codes would open nothing. Ask the administrator to set it."))
        building = params.get("building")
        total = sum(_count(e.id, building) for e in estates)
        plans = [_plan(e) for e in estates]
        unit.end_read()
    progress(done=0, total=total, stage="cards")
    stamp = clock.local(clock.now()).strftime("%Y%m%d-%H%M")
    folder, made = _folder(), []
    for estate, plan in zip(estates, plans, strict=True):
        name = f"{progress.job_id}-{estate.code}.pdf"
        pages, cards = _write_pdf(folder / name, estate, plan, building, base.rstrip("/"), progress)
        made.append({"estate": estate.name_zh, "code": estate.code, "cards": cards, "pages": pages,
                     "round_the_clock": plan["round_the_clock"], "file": name})
    if len(made) == 1:
        result_file = made[0]["file"]
        download_as = f"便民服务卡-{estates[0].name_zh}{'-' + building if building else ''}-{stamp}.pdf"
    else:
        result_file = f"{progress.job_id}-cards.zip"
        with zipfile.ZipFile(folder / result_file, "w", compression=zipfile.ZIP_STORED) as archive:
            for one in made:  # PDFs are compressed already
                archive.write(folder / one["file"], f"便民服务卡-{one['code']}-{one['estate']}.pdf")
                (folder / one["file"]).unlink()
        download_as = f"便民服务卡-{stamp}.zip"
    progress(stage="done")
    return {"file": result_file, "download_as": download_as, "building": building, "estates": made,
            "cards": sum(m["cards"] for m in made), "pages": sum(m["pages"] for m in made)}


def _count(place_id: int, building: str | None) -> int:
    query = sa.select(sa.func.count()).select_from(Household).where(Household.place_id == place_id, Household.active)
    if building:
        query = query.where(Household.building == building)
    return db.session.scalar(query) or 0


def _plan(estate: Place) -> dict:
    """What every card of an estate shares, read once."""
    butler = heating.butler_of(estate)
    station = estate.service_point
    return {"estate": estate.name_zh, "butler": butler.display_name if butler else "",
            "butler_phone": butler.phone if butler and butler.phone else "",
            "hotline": station.phone if station and station.phone else "",
            "round_the_clock": heating.round_the_clock(station, butler is not None and bool(butler.phone))}


def _buildings(place_id: int, building: str | None) -> list[str | None]:
    if building:
        return [building]
    with begin_mode("DEFERRED"):  # a read: no write lock taken
        found = list(db.session.scalars(sa.select(Household.building).where(Household.place_id == place_id,
                                                                             Household.active)
                                        .distinct().order_by(Household.building)))
        unit.end_read()
    return found


def _households(place_id: int, building: str | None) -> Iterator[list[tuple[str, str]]]:
    """The (code, address) of a building's households in batches, by their code (keyset: no cursor stays open
    across the progress reports, each of which ends the transaction)."""
    last = ""
    while True:
        query = sa.select(Household.code, Household.address).where(
            Household.place_id == place_id, Household.active, Household.code > last)
        query = query.where(Household.building == building if building is not None else Household.building.is_(None))
        with begin_mode("DEFERRED"):  # a read: no write lock taken; the progress after it writes on its own
            batch = db.session.execute(query.order_by(Household.code).limit(BATCH)).all()
            unit.end_read()
        if not batch:
            return
        yield [(row.code, row.address) for row in batch]
        last = batch[-1].code


def _sheets(font_path: Path) -> FPDF:
    """An empty A4 document set in the cards' font. fpdf2 and the font tools it brings (some 40 MB) are loaded here,
    by the worker that makes cards, not by every worker when it starts."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_font("cjk", fname=str(font_path), collection_font_number=0)
    pdf.set_font("cjk", size=10)
    pdf.set_creator("便民服务平台")
    pdf.set_title("便民服务卡")
    return pdf


def _write_pdf(path: Path, estate: Place, plan: dict, building: str | None, base: str,
               progress: jobs.Progress) -> tuple[int, int]:
    pdf = _sheets(font())
    words = {"title": _("Convenience card"), "butler": _("District butler"), "phone": _("Butler's phone"),
             "hotline": _("Station hotline"), "always": _("24 hours"), "scan": _("Scan to save the contact")}
    cards = 0
    for block in _buildings(estate.id, building):
        slot = PER_SHEET  # each building starts a sheet of its own
        for batch in _households(estate.id, block):
            for code, address in batch:
                if slot == PER_SHEET:
                    pdf.add_page()
                    pdf.set_font("cjk", size=8)
                    pdf.set_text_color(110)
                    pdf.set_xy(LEFT, 5)
                    pdf.cell(0, 5, f"{plan['estate']} · {block or _('No building')} · {pdf.page_no()}")
                    slot = 0
                _card(pdf, slot, plan, words, CardFace(address, f"{base}/lookup/h/{code}"))
                slot += 1
                cards += 1
            progress(add=len(batch))
    if not cards:
        pdf.add_page()
        pdf.set_xy(LEFT, TOP)
        pdf.cell(0, 8, _("No households here."))
    pdf.output(str(path))
    path.chmod(0o600)
    return pdf.pages_count, cards


def _card(pdf: FPDF, slot: int, plan: dict, words: dict, face: CardFace) -> None:
    x = LEFT + (slot % 2) * (CARD_W + GAP)
    y = TOP + (slot // 2) * (CARD_H + GAP)
    pdf.set_draw_color(170)
    pdf.set_line_width(0.2)
    pdf.rect(x, y, CARD_W, CARD_H)
    text_w = CARD_W - QR_MM - 8
    pdf.set_text_color(20)
    pdf.set_font("cjk", size=11)
    pdf.set_xy(x + 4, y + 4)
    pdf.cell(CARD_W - 8, 6, f"{words['title']} · {plan['estate']}")
    pdf.set_font("cjk", size=9)
    pdf.set_xy(x + 4, y + 12)
    pdf.multi_cell(text_w, 4.5, face.address, max_line_height=4.5)
    pdf.set_font("cjk", size=10)
    pdf.set_xy(x + 4, y + 24)
    pdf.cell(text_w, 6, f"{words['butler']}：{plan['butler'] or '—'}")
    pdf.set_xy(x + 4, y + 31)
    pdf.cell(text_w, 5, words["phone"] + ("（" + words["always"] + "）" if plan["round_the_clock"] == "butler" else ""))
    pdf.set_font("cjk", size=13)
    pdf.set_xy(x + 4, y + 36)
    pdf.cell(text_w, 7, plan["butler_phone"] or "—")
    pdf.set_font("cjk", size=9)
    pdf.set_xy(x + 4, y + 46)
    pdf.cell(text_w, 5, words["hotline"] + ("（" + words["always"] + "）" if plan["round_the_clock"] == "hotline" else ""))
    pdf.set_font("cjk", size=11)
    pdf.set_xy(x + 4, y + 51)
    pdf.cell(text_w, 6, plan["hotline"] or "—")
    _qr(pdf, x + CARD_W - QR_MM - 4, y + 18, plan, face.url)
    pdf.set_font("cjk", size=7)
    pdf.set_text_color(110)
    pdf.set_xy(x + CARD_W - QR_MM - 4, y + 18 + QR_MM + 1)
    pdf.cell(QR_MM, 4, words["scan"], align="C")


def _qr(pdf: FPDF, x: float, y: float, plan: dict, url: str) -> None:
    """The MECARD (name, phone, the household's public page) as filled runs of dark modules, written as one path.
    The mask is fixed (segno would try all eight for each card, most of a card's time; any mask reads the same)."""
    data = helpers.make_mecard_data(name=plan["butler"] or "片区管家", phone=plan["butler_phone"] or None, url=url)
    code = segno.make_qr(data, error="m", mask=MASK, boost_error=False)
    border, k = 1, pdf.k
    module = QR_MM / (len(code.matrix) + 2 * border)
    runs = []
    for r, row in enumerate(code.matrix):
        top = (pdf.h - y - (r + border + 1) * module) * k
        c, width = 0, len(row)
        while c < width:
            if row[c]:
                start = c
                while c < width and row[c]:
                    c += 1
                runs.append(f"{(x + (start + border) * module) * k:.2f} {top:.2f} {(c - start) * module * k:.2f} "
                            f"{module * k:.2f} re")
            else:
                c += 1
    pdf._out("q 0.122 0.161 0.2 rg " + " ".join(runs) + " f Q")  # noqa: SLF001 - one path, not a call per run
