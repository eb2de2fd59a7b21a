"""QR codes drawn as inline SVG (no image requests, nothing fetched: the intranet has no internet)."""
from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(text: str, scale: int = 3) -> Markup:
    """A QR code of ``text`` (an address, usually) as inline SVG."""
    svg = segno.make(text, error="m").svg_inline(scale=scale, border=2, dark="#1f2933", omitsize=True)
    return Markup(svg)  # noqa: S704 - segno's own markup, built from escaped data
