"""Convenience cards (便民服务卡): eight to an A4 sheet, one per household, with the estate's butler
and their phone ("24 小时" only beside a number that answers at night: ``heating.round_the_clock``), the station's hotline, and a QR code a phone can save as a contact.

The QR code is a MECARD (name, phone, address of the household's public page), drawn as SVG by
segno. Sheets are produced one at a time, so that the 150,000 cards of the district can be
streamed to a browser or written to a file without holding them in memory.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup
from segno import helpers

from portal.domain import heating
from portal.extensions import db
from portal.models import Household, Place, PlaceKind

PER_SHEET = 8
BATCH = 400
# Cards a page prints at most (50 sheets, about 2 s to build): a sync worker has 30 s for a request, and an estate
# of 12,000 households takes a minute; bigger estates print in parts, the whole district from the command line.
PART = 400


@dataclass
class Card:
    address: str
    estate: str
    butler_name: str
    butler_phone: str
    hotline: str
    qr: Markup
    always: str | None = None  # the number that answers at night: "butler", "hotline", or none (heating.round_the_clock)


def qr_svg(name: str, phone: str, url: str) -> Markup:
    code = helpers.make_mecard(name=name or "片区管家", phone=phone or None, url=url)
    svg = code.svg_inline(scale=2, border=1, dark="#1f2933", omitsize=True)
    return Markup(svg)  # noqa: S704 - segno's own markup, built from escaped data


def sheets(place: Place, building: str | None, base_url: str, part: int | None = None) -> Iterator[list[Card]]:
    """The card sheets of an estate (or one building), eight cards each, read in batches; with ``part``, only
    that part's ``PART`` cards.

    What every card shares is read now; the households are read as the sheets are consumed, which
    may be after the view has returned (a streamed page), so nothing loaded earlier is touched then.
    """
    butler = heating.butler_of(place)
    shared = dict(estate=place.name_zh, butler_name=butler.display_name if butler else "",
                  butler_phone=butler.phone if butler else "",
                  hotline=place.service_point.phone if place.service_point else "",
                  always=heating.round_the_clock(place.service_point, butler is not None and bool(butler.phone)))
    return _sheets(place.id, building, base_url.rstrip("/"), shared, part)


def _households(place_id: int, building: str | None) -> sa.Select:
    query = sa.select(Household.id, Household.code, Household.address).where(
        Household.place_id == place_id, Household.active)
    return query.where(Household.building == building) if building else query


def _sheets(place_id: int, building: str | None, base_url: str, shared: dict,
            part: int | None) -> Iterator[list[Card]]:
    query = _households(place_id, building)
    sheet: list[Card] = []
    last_id, left = 0, PART if part else None
    if part and part > 1:  # start after the last household of the part before
        ids = query.subquery()
        last_id = db.session.scalar(sa.select(ids.c.id).order_by(ids.c.id).offset((part - 1) * PART - 1).limit(1)) or 0
    while left is None or left > 0:
        batch = db.session.execute(query.where(Household.id > last_id).order_by(Household.id)
                                   .limit(BATCH if left is None else min(BATCH, left))).all()
        if not batch:
            break
        for row in batch:
            qr = qr_svg(shared["butler_name"], shared["butler_phone"], f"{base_url}/lookup/h/{row.code}")
            sheet.append(Card(address=row.address, qr=qr, **shared))
            if len(sheet) == PER_SHEET:
                yield sheet
                sheet = []
        last_id = batch[-1].id
        if left is not None:
            left -= len(batch)
    if sheet:
        yield sheet


def count(place: Place, building: str | None = None) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(_households(place.id, building).subquery())) or 0


def estates(codes: list[str], every: bool) -> list[Place]:

    query = sa.select(Place).where(Place.kind == PlaceKind.ESTATE, Place.active).order_by(Place.code)
    if not every:
        query = query.where(Place.code.in_([c.upper() for c in codes]))
    return list(db.session.scalars(query))


def document_head() -> str:
    """The start of a standalone card file: it carries its own stylesheet, to be opened from disk."""
    css = (Path(current_app.static_folder) / "portal.css").read_text(encoding="utf-8")
    return ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>便民服务卡</title>'
            f"<style>{css}</style></head><body class=\"print-page cards-page\">")


def render_sheet(sheet: list[Card]) -> str:
    return current_app.jinja_env.get_template("heating/_card_sheet.html").render(sheet=sheet)
