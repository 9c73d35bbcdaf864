"""Charts drawn as inline SVG on the server: no JavaScript, no CDN, and they print.

Readable without colour: bars are hatched in the text colour and carry their value as a label;
lines differ by dash pattern and marker shape and are named at their end. Every chart sits next
to the table of the same figures (the template puts it there), and a suppressed figure is drawn
as the word "suppressed", never as a zero-length bar.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

_ids = itertools.count(1)


def _n(number: float) -> str:
    """Coordinates as text (format_html escapes its arguments to strings first)."""
    return f"{number:.1f}"


BAR_HEIGHT = 18
BAR_GAP = 6
LABEL_WIDTH = 150
PLOT_WIDTH = 260
VALUE_WIDTH = 110
DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 5"]
MARKERS = ["circle", "square", "triangle", "diamond", "cross"]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: suppressed
    text: str  # what is written after the bar, e.g. "58.6 % (51 / 87)"


def _hatch(pattern_id: str) -> SafeString:
    return format_html(
        '<pattern id="{}" patternUnits="userSpaceOnUse" width="6" height="6">'
        '<rect width="6" height="6" fill="none"/>'
        '<path d="M0,6 L6,0 M-1,1 L1,-1 M5,7 L7,5" stroke="currentColor" stroke-width="1.2"/>'
        "</pattern>",
        pattern_id,
    )


def bar_chart(bars: Sequence[Bar], *, title: str, maximum: float | None = None) -> SafeString:
    """Horizontal bars, one per slice, each labelled with its figure."""
    chart_id = f"chart-{next(_ids)}"
    largest = maximum or max((bar.value or 0 for bar in bars), default=0) or 1
    height = len(bars) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    rows = []
    for number, bar in enumerate(bars):
        y = BAR_GAP + number * (BAR_HEIGHT + BAR_GAP)
        middle = y + BAR_HEIGHT / 2 + 4
        label = format_html(
            '<text x="{}" y="{}" text-anchor="end">{}</text>', LABEL_WIDTH - 6, middle, bar.label
        )
        if bar.value is None:
            drawn = format_html(
                '<text x="{}" y="{}" class="suppressed">{}</text>',
                LABEL_WIDTH + 4,
                middle,
                _("suppressed"),
            )
        else:
            length = max(1.0, PLOT_WIDTH * bar.value / largest) if bar.value else 0
            drawn = format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="url(#{}-hatch)" '
                'stroke="currentColor"/><text x="{}" y="{}">{}</text>',
                LABEL_WIDTH,
                y,
                _n(length),
                BAR_HEIGHT,
                chart_id,
                _n(LABEL_WIDTH + length + 4),
                middle,
                bar.text,
            )
        rows.append(label + drawn)
    return format_html(
        '<svg class="chart" role="img" aria-labelledby="{}-title" viewBox="0 0 {} {}" '
        'width="{}" height="{}"><title id="{}-title">{}</title><defs>{}</defs>'
        '<line x1="{}" y1="0" x2="{}" y2="{}" stroke="currentColor"/>{}</svg>',
        chart_id,
        width,
        height,
        width,
        height,
        chart_id,
        title,
        _hatch(f"{chart_id}-hatch"),
        LABEL_WIDTH,
        LABEL_WIDTH,
        height,
        mark_safe("".join(rows)),  # noqa: S308 - every part built with format_html above
    )


def _marker(shape: str, x: float, y: float) -> SafeString:
    if shape == "circle":
        return format_html('<circle cx="{}" cy="{}" r="3.5"/>', _n(x), _n(y))
    if shape == "square":
        return format_html('<rect x="{}" y="{}" width="7" height="7"/>', _n(x - 3.5), _n(y - 3.5))
    if shape == "triangle":
        return format_html('<path d="M{},{} l4,7 l-8,0 z"/>', _n(x), _n(y - 4.5))
    if shape == "diamond":
        return format_html('<path d="M{},{} l4,4 l-4,4 l-4,-4 z"/>', _n(x), _n(y - 4))
    return format_html(
        '<path d="M{},{} l7,7 m0,-7 l-7,7" stroke="currentColor"/>', _n(x - 3.5), _n(y - 3.5)
    )


def line_chart(
    lines: Mapping[str, Sequence[float | None]], *, labels: Sequence[str], title: str
) -> SafeString:
    """One line per series over the buckets; gaps where a figure is suppressed."""
    chart_id = f"chart-{next(_ids)}"
    left, top, plot_width, plot_height, right = 44, 12, 420, 160, 120
    width, height = left + plot_width + right, top + plot_height + 40
    values = [v for series in lines.values() for v in series if v is not None]
    largest = max(values, default=0) or 1
    step = plot_width / max(1, len(labels) - 1)

    def point(index: int, value: float) -> tuple[float, float]:
        return left + index * step, top + plot_height - plot_height * value / largest

    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor"/>'
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor"/>'
            '<text x="{}" y="{}" text-anchor="end">{}</text>'
            '<text x="{}" y="{}" text-anchor="end">0</text>',
            left,
            top,
            left,
            top + plot_height,
            left,
            top + plot_height,
            left + plot_width,
            top + plot_height,
            left - 4,
            top + 8,
            f"{largest:g}",
            left - 4,
            top + plot_height,
        )
    ]
    every = max(1, len(labels) // 6)
    parts += [
        format_html(
            '<text x="{}" y="{}" text-anchor="middle">{}</text>',
            _n(left + index * step),
            top + plot_height + 16,
            label,
        )
        for index, label in enumerate(labels)
        if index % every == 0 or index == len(labels) - 1
    ]
    for number, (name, series) in enumerate(lines.items()):
        dash, shape = DASHES[number % len(DASHES)], MARKERS[number % len(MARKERS)]
        segments: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(series):
            if value is None:
                segments.append([])
            else:
                segments[-1].append(point(index, value))
        for segment in segments:
            if len(segment) > 1:
                parts.append(
                    format_html(
                        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" '
                        'stroke-dasharray="{}" points="{}"/>',
                        dash,
                        " ".join(f"{x:.1f},{y:.1f}" for x, y in segment),
                    )
                )
            parts += [_marker(shape, x, y) for x, y in segment]
        last = next(
            (
                (index, value)
                for index, value in reversed(list(enumerate(series)))
                if value is not None
            ),
            None,
        )
        if last is not None:
            x, y = point(*last)
            parts.append(format_html('<text x="{}" y="{}">{}</text>', x + 8, y + 4, name))
    return format_html(
        '<svg class="chart" role="img" aria-labelledby="{}-title" viewBox="0 0 {} {}" '
        'width="{}" height="{}"><title id="{}-title">{}</title>{}</svg>',
        chart_id,
        width,
        height,
        width,
        height,
        chart_id,
        title,
        format_html_join("", "{}", ((part,) for part in parts)),
    )


def sparkline(values: Sequence[int | None], *, title: str) -> SafeString:
    """A small line for one table row (a category over the months); gaps where suppressed."""
    width, height = 90, 20
    known = [v for v in values if v is not None]
    largest = max(known, default=0) or 1
    step = width / max(1, len(values) - 1)
    segments: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            segments.append([])
        else:
            segments[-1].append(
                f"{index * step:.1f},{height - 2 - (height - 4) * value / largest:.1f}"
            )
    lines = "".join(
        f'<polyline fill="none" stroke="currentColor" points="{" ".join(s)}"/>'
        for s in segments
        if len(s) > 1
    )
    return format_html(
        '<svg class="sparkline" role="img" width="{}" height="{}" viewBox="0 0 {} {}">'
        "<title>{}</title>{}</svg>",
        width,
        height,
        width,
        height,
        title,
        mark_safe(lines),  # noqa: S308 - numbers only
    )
