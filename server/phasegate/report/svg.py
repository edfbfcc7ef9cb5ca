"""Inline SVG charts for the HTML report: no script, no external resource.

Every function returns one ``<svg>`` element as a string, with an explicit ``width``,
``height`` and ``viewBox`` so it has a size before any stylesheet applies, a ``role="img"``
and a ``<title>`` for screen readers, and a ``<title>`` tooltip on every mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PASS = "#1a7f37"
FAIL = "#cf222e"
WARN = "#bf8700"
INFO = "#0969da"
MUTED = "#6e7781"
GRID = "#d0d7de"

OUTCOME_COLOURS = {
    "passed": PASS,
    "completed": PASS,
    "retry": WARN,
    "rework": WARN,
    "stalled": WARN,
    "blocked": FAIL,
    "failed": FAIL,
    "regressed": FAIL,
    "in_progress": INFO,
}


def _a(value: object) -> str:
    """An attribute value, escaped."""
    return escape(str(value), quote=True)


def _n(x: float) -> str:
    """A coordinate with at most two decimals."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _open(width: float, height: float, label: str, cls: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{_a(cls)}" role="img" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'aria-label="{_a(label)}"><title>{escape(label)}</title>'
    )


@dataclass
class ScorePoint:
    """One iteration of a phase: its gate score against its threshold."""

    iteration: int
    score: float
    threshold: float
    passed: bool
    outcome: str = ""
    detail: str = ""  # tooltip text: personas, findings


def score_chart(title: str, points: Sequence[ScorePoint], width: int = 420) -> str:
    """Bars of the gate score per iteration with the threshold as a dashed step line."""
    height = 210
    left, right, top, bottom = 38.0, 12.0, 14.0, 34.0
    plot_w = width - left - right
    plot_h = height - top - bottom
    parts = [_open(width, height, title, "chart score-chart")]

    def y(v: float) -> float:
        return top + plot_h * (1.0 - max(0.0, min(1.0, v)))

    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        ty = y(tick)
        parts.append(
            f'<line x1="{_n(left)}" y1="{_n(ty)}" x2="{_n(width - right)}" y2="{_n(ty)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{_n(left - 6)}" y="{_n(ty + 4)}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}">{tick:.2f}</text>'
        )
    if not points:
        parts.append(
            f'<text x="{_n(left + plot_w / 2)}" y="{_n(top + plot_h / 2)}" text-anchor="middle" '
            f'font-size="13" fill="{MUTED}">no iteration yet</text></svg>'
        )
        return "".join(parts)
    slot = plot_w / len(points)
    bar_w = max(6.0, min(48.0, slot * 0.55))
    step: list[str] = []
    for i, p in enumerate(points):
        cx = left + slot * (i + 0.5)
        x0 = cx - bar_w / 2
        colour = PASS if p.passed else OUTCOME_COLOURS.get(p.outcome, FAIL)
        by = y(p.score)
        bh = max(1.0, top + plot_h - by)
        tip = f"iteration {p.iteration}: score {p.score:.2f}, threshold {p.threshold:.2f}"
        tip += f", {p.outcome or ('passed' if p.passed else 'failed')}"
        if p.detail:
            tip += f" — {p.detail}"
        parts.append(
            f'<rect class="bar" x="{_n(x0)}" y="{_n(min(by, top + plot_h - 1))}" '
            f'width="{_n(bar_w)}" height="{_n(bh)}" fill="{colour}" rx="2">'
            f"<title>{escape(tip)}</title></rect>"
            f'<text x="{_n(cx)}" y="{_n(max(top + 10, by - 4))}" text-anchor="middle" '
            f'font-size="11" fill="#1f2328">{p.score:.2f}</text>'
            f'<text x="{_n(cx)}" y="{_n(height - bottom + 15)}" text-anchor="middle" '
            f'font-size="11" fill="{MUTED}">{"eval" if p.iteration == 0 else f"#{p.iteration}"}'
            "</text>"
        )
        ty = y(p.threshold)
        step.append(f"{_n(left + slot * i)},{_n(ty)} {_n(left + slot * (i + 1))},{_n(ty)}")
    parts.append(
        f'<polyline class="threshold" points="{" ".join(step)}" fill="none" stroke="#1f2328" '
        f'stroke-width="2" stroke-dasharray="6 4"><title>threshold per iteration</title>'
        "</polyline>"
        f'<text x="{_n(left)}" y="{_n(height - 4)}" font-size="11" fill="{MUTED}">'
        "bars: gate score · dashed: threshold</text></svg>"
    )
    return "".join(parts)


def bar_chart(
    title: str, items: Sequence[tuple[str, float]], unit: str = "s", width: int = 520
) -> str:
    """Horizontal bars, one per (label, value), longest first as given."""
    row = 22
    longest = max((len(label) for label, _ in items), default=0)
    label_w = float(min(300, max(90, 12 + 7 * longest)))  # ~7 px per character at 12 px
    value_w = 70.0
    top = 6.0
    height = top * 2 + row * max(1, len(items))
    parts = [_open(width, height, title, "chart bar-chart")]
    if not items:
        parts.append(
            f'<text x="8" y="{_n(top + 15)}" font-size="12" fill="{MUTED}">nothing recorded</text>'
            "</svg>"
        )
        return "".join(parts)
    biggest = max(v for _, v in items) or 1.0
    plot_w = width - label_w - value_w
    for i, (label, value) in enumerate(items):
        ry = top + row * i
        w = max(1.0, plot_w * value / biggest) if value > 0 else 1.0
        shown = label if len(label) <= 40 else label[:39] + "…"
        parts.append(
            f'<text x="{_n(label_w - 6)}" y="{_n(ry + 15)}" text-anchor="end" font-size="12" '
            f'fill="#1f2328">{escape(shown)}</text>'
            f'<rect class="bar" x="{_n(label_w)}" y="{_n(ry + 4)}" width="{_n(w)}" height="14" '
            f'fill="{INFO}" rx="2"><title>{escape(label)}: {_fmt(value, unit)}</title></rect>'
            f'<text x="{_n(label_w + w + 5)}" y="{_n(ry + 15)}" font-size="11" '
            f'fill="{MUTED}">{escape(_fmt(value, unit))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return format_duration(value)
    return f"{value:g} {unit}".strip()


def format_duration(seconds: float) -> str:
    """``7 ms``, ``0.42 s``, ``12.3 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if seconds < 0.1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class Span:
    """One bar of the timeline: a lane (phase), a start and end (seconds from t0)."""

    lane: str
    start: float
    end: float
    label: str
    outcome: str = ""


@dataclass
class Mark:
    """One instant on the timeline (an event), drawn as a tick on its lane."""

    lane: str
    at: float
    label: str


def timeline_chart(
    title: str,
    lanes: Sequence[str],
    spans: Sequence[Span],
    marks: Sequence[Mark] = (),
    width: int = 900,
) -> str:
    """Lanes (phases) over time, with one bar per iteration coloured by its outcome."""
    row = 28
    label_w = 120.0
    right = 16.0
    top = 8.0
    axis_h = 24.0
    height = top + row * max(1, len(lanes)) + axis_h
    parts = [_open(width, height, title, "chart timeline-chart")]
    end = max([s.end for s in spans] + [m.at for m in marks] + [0.0])
    span_total = end if end > 0 else 1.0
    plot_w = width - label_w - right

    def x(t: float) -> float:
        return label_w + plot_w * max(0.0, t) / span_total

    lane_y = {name: top + row * i for i, name in enumerate(lanes)}
    for name, ly in lane_y.items():
        parts.append(
            f'<text x="{_n(label_w - 8)}" y="{_n(ly + 18)}" text-anchor="end" font-size="12" '
            f'fill="#1f2328">{escape(name)}</text>'
            f'<line x1="{_n(label_w)}" y1="{_n(ly + row - 2)}" x2="{_n(width - right)}" '
            f'y2="{_n(ly + row - 2)}" stroke="{GRID}" stroke-width="1"/>'
        )
    for s in spans:
        if s.lane not in lane_y:
            continue
        ly = lane_y[s.lane]
        x0 = x(s.start)
        w = max(3.0, x(s.end) - x0)
        colour = OUTCOME_COLOURS.get(s.outcome, INFO)
        parts.append(
            f'<rect class="span" x="{_n(x0)}" y="{_n(ly + 5)}" width="{_n(w)}" height="16" '
            f'fill="{colour}" opacity="0.85" rx="2"><title>{escape(s.label)}</title></rect>'
        )
    for m in marks:
        if m.lane not in lane_y:
            continue
        ly = lane_y[m.lane]
        mx = x(m.at)
        parts.append(
            f'<line class="mark" x1="{_n(mx)}" y1="{_n(ly + 2)}" x2="{_n(mx)}" '
            f'y2="{_n(ly + 24)}" stroke="#1f2328" stroke-width="1.5">'
            f"<title>{escape(m.label)}</title></line>"
        )
    axis_y = top + row * max(1, len(lanes)) + 4
    for i in range(5):
        t = span_total * i / 4
        parts.append(
            f'<text x="{_n(x(t))}" y="{_n(axis_y + 12)}" '
            f'text-anchor="{"start" if i == 0 else "end" if i == 4 else "middle"}" '
            f'font-size="11" fill="{MUTED}">+{escape(format_duration(t))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
