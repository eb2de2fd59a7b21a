"""Sparklines drawn on the server as inline SVG paths: no chart script, nothing fetched."""
from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 120, 32, 3


@dataclass(frozen=True)
class Sparkline:
    path: str                       # the "d" of an SVG path; gaps where a week had nothing to count
    last: tuple[float, float] | None  # where to put the dot of the latest value
    width: int = WIDTH
    height: int = HEIGHT


def sparkline(values: list[float | int | None], floor_zero: bool = True) -> Sparkline:
    """A line through ``values`` (oldest first), scaled to the box; None leaves a gap."""
    known = [v for v in values if v is not None]
    if not known:
        return Sparkline("", None)
    low = min(0, *known) if floor_zero else min(known)
    high = max(known)
    span = (high - low) or 1
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    parts, last, pen_down = [], None, False
    for index, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        x = PAD + index * step
        y = HEIGHT - PAD - (value - low) / span * (HEIGHT - 2 * PAD)
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down, last = True, (round(x, 1), round(y, 1))
    return Sparkline(" ".join(parts), last)
