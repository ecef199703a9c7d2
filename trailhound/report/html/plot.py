"""A principal's timeline as a server-side SVG: its events as a grey histogram along the time
axis, its findings as dots at their score, coloured by rule level.

Server-side SVG rather than a plotting library: the plot is a few rectangles and circles, a
library would add ~1 MB of script to every report for that, and an SVG shown as an <img> from a
data: URI cannot run script or load anything (browsers treat SVG images as static documents),
which the page's Content-Security-Policy allows with `img-src data:` and nothing more. The only
text in it is ours (times, counts), escaped all the same."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from trailhound.report.html.collect import Dot

WIDTH, HEIGHT = 760, 180
LEFT, RIGHT, TOP, BOTTOM = 46, 14, 22, 36
BAND = 30  # height of the event histogram, above the time axis
BINS = 120
COLOURS = {
    "critical": "#7b1fa2", "high": "#c62828", "medium": "#ef6c00", "low": "#1565c0",
    "informational": "#546e7a",
}


def _t(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M")


def _text(x: float, y: float, s: str, anchor: str = "start", size: int = 11) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="#333">{escape(s)}</text>')


def _num(x: float) -> str:
    return f"{x:g}"


def timeline_svg(events: Sequence[int], dots: Sequence[Dot]) -> str:
    """The plot, as SVG text. `events`: epoch ns of the principal's events (may be empty:
    then only the findings are drawn); `dots`: its findings."""
    times = [d.time_ns for d in dots]
    lo = min([*times, *([min(events)] if events else [])], default=0)
    hi = max([*times, *([max(events)] if events else [])], default=1)
    if hi <= lo:  # one instant: a minute either side, so it sits in the middle
        lo, hi = lo - 60 * 10**9, hi + 60 * 10**9
    x0, x1 = LEFT, WIDTH - RIGHT
    axis_y = HEIGHT - BOTTOM
    top_score = max([d.score for d in dots if d.score > 0], default=1.0)
    dot_bottom = axis_y - BAND - 8

    def x(ns: int) -> float:
        return x0 + (ns - lo) / (hi - lo) * (x1 - x0)

    out = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
         f'viewBox="0 0 {WIDTH} {HEIGHT}">'),
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    if events:
        counts = [0] * BINS
        for t in events:
            counts[min(BINS - 1, int((t - lo) / (hi - lo) * BINS))] += 1
        peak = max(counts)
        w = (x1 - x0) / BINS
        for i, c in enumerate(counts):
            if c:
                h = max(1.5, c / peak * BAND)
                out.append(f'<rect class="ev" x="{x0 + i * w:.1f}" y="{axis_y - h:.1f}" '
                           f'width="{max(1.0, w - 0.5):.1f}" height="{h:.1f}" fill="#b0bec5"/>')
        out.append(_text(x0 - 4, axis_y - BAND / 2 + 4, f"{peak} ev", "end", 10))
    # score axis and grid
    out.append(f'<line x1="{x0}" y1="{TOP}" x2="{x0}" y2="{axis_y}" stroke="#999"/>')
    out.append(f'<line x1="{x0}" y1="{axis_y}" x2="{x1}" y2="{axis_y}" stroke="#999"/>')
    for frac in (0.0, 0.5, 1.0):
        y = dot_bottom - frac * (dot_bottom - TOP)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(_text(x0 - 4, y + 4, _num(round(top_score * frac, 2)), "end", 10))
    for d in sorted(dots, key=lambda d: d.score):  # highest drawn last, on top
        y = dot_bottom - max(0.0, d.score) / top_score * (dot_bottom - TOP)
        out.append(f'<circle class="finding" cx="{x(d.time_ns):.1f}" cy="{y:.1f}" r="4.5" '
                   f'fill="{COLOURS.get(d.level, "#1565c0")}" fill-opacity="0.8" stroke="#fff"/>')
    out.append(_text(x0, HEIGHT - 14, _t(lo)))
    out.append(_text((x0 + x1) / 2, HEIGHT - 14, _t((lo + hi) // 2), "middle"))
    out.append(_text(x1, HEIGHT - 14, _t(hi) + " UTC", "end"))
    out.append(_text(x0, 14, f"score of each finding (dots); {len(events)} events "
                             f"(grey, per time slice)" if events else
                     "score of each finding (dots)"))
    out.append("</svg>")
    return "".join(out)


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
