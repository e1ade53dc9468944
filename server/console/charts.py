"""Small charts as inline SVG drawn on the server: no JavaScript, no chart library, and
they print and load on a phone like any other part of the page."""

from __future__ import annotations

import datetime as dt
from html import escape

WIDTH, HEIGHT, PAD = 320, 90, 4
COLOURS = ("#0b5cad", "#b3261e", "#1b7f3b", "#8a4b00", "#6a1b9a")


def _frame(body: str, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" class="chart-bg"/>{body}</svg>'
    )


def lines(
    series: dict[str, list[tuple[dt.datetime, float]]],
    start: dt.datetime,
    end: dt.datetime,
    label: str,
    top: float = 100.0,
) -> str:
    """One polyline per named series over [start, end], values 0..``top``.  A history
    shorter than the window starts the chart shortly before its first point, so a new
    kiosk's few minutes are a line, not a dot at the right edge."""
    first = min((at for points in series.values() for at, _ in points), default=start)
    start = max(start, first - dt.timedelta(minutes=15))
    span = max((end - start).total_seconds(), 1.0)
    body = []
    for i, (name, points) in enumerate(sorted(series.items())):
        if not points:
            continue
        colour = COLOURS[i % len(COLOURS)]
        xy = []
        for at, value in points:
            x = PAD + (WIDTH - 2 * PAD) * max(0.0, min(1.0, (at - start).total_seconds() / span))
            y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * max(0.0, min(1.0, value / top))
            xy.append(f"{x:.1f},{y:.1f}")
        if len(xy) == 1:
            xy.append(f"{WIDTH - PAD:.1f},{xy[0].split(',')[1]}")  # a level held since
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(xy)}">'
            f"<title>{escape(name)}</title></polyline>"
        )
    return _frame("".join(body), label)


def bars(counts: list[int], label: str) -> str:
    """One bar per bucket (e.g. 24 hours), scaled to the largest."""
    top = max(max(counts, default=0), 1)
    n = max(len(counts), 1)
    width = (WIDTH - 2 * PAD) / n
    body = []
    for i, count in enumerate(counts):
        h = (HEIGHT - 2 * PAD) * count / top
        body.append(
            f'<rect class="bar" x="{PAD + i * width + 1:.1f}" y="{HEIGHT - PAD - h:.1f}" '
            f'width="{max(width - 2, 1):.1f}" height="{h:.1f}"><title>{count}</title></rect>'
        )
    return _frame("".join(body), label)


def legend(names: list[str]) -> list[tuple[str, str]]:
    """(colour, name) in the order ``lines`` draws them."""
    return [(COLOURS[i % len(COLOURS)], n) for i, n in enumerate(sorted(names))]
