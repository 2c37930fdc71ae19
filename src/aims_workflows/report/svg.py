"""Small SVG charts drawn on the server: a line chart over time, horizontal bars, columns (stacked
or not) and a heat map of labelled cells.

Each chart is one ``<svg>`` element for inline use in HTML (which needs no namespace declaration),
with its colours as attributes, so it looks the same in the dashboard, in a self-contained
report, printed, or with no style sheet at all; it needs no script and loads nothing. Every text
is escaped. Shapes that stand for a number carry it in ``data-`` attributes (``data-value``,
``data-at``, ``data-label``) so a test, or a person with the browser's inspector, can read the
exact figure behind what is drawn; a ``<title>`` on each gives the figure as a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup, escape

__all__ = [
    "Bar",
    "Cell",
    "HeatRow",
    "Column",
    "Series",
    "bar_chart",
    "column_chart",
    "heat_map",
    "line_chart",
    "nice_ticks",
    "number",
]

INK, MUTED, GRID, TARGET = "#1f2328", "#57606a", "#d8dee4", "#6e7781"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"'


def number(value: float | None) -> str:
    """A figure as a ``data-value``: Python's shortest round-trip form (what ``json`` writes), so
    it compares exactly with the KPI JSON; empty for no value."""
    return "" if value is None else repr(value)


def _f(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def nice_ticks(top: float, most: int = 5, *, integer: bool = False) -> list[float]:
    """0 and round steps (1, 2 or 5 times a power of ten; whole steps for ``integer`` counts) up
    to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(step, 1)
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]


def _open(
    chart: str, width: int, height: int, title: str, *, font_size: int = 12, **data: str
) -> str:
    extra = "".join(f' data-{k.replace("_", "-")}="{escape(v)}"' for k, v in data.items())
    return (
        f'<svg class="chart-svg" data-chart="{escape(chart)}"'
        f'{extra} viewBox="0 0 {width} {height}" width="100%" role="img" '
        # as wide as its column, but never blown up much past its drawn size
        f'style="max-width: {round(width * 1.15)}px" '
        f'aria-label="{escape(title)}" {FONT} font-size="{font_size}" fill="{INK}">'
        f"<title>{escape(title)}</title>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", **attrs: str) -> str:
    more = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}"{more}>{escape(text)}</text>'


def _legend_layout(texts: Sequence[str], width: int, start: float = 8) -> list[tuple[float, int]]:
    """(x, line) of each legend entry, wrapping to a new line where the next would not fit."""
    placed, x, line = [], start, 0
    for text in texts:
        w = 30 + len(text) * 6.4
        if x > start and x + w > width:
            x, line = start, line + 1
        placed.append((x, line))
        x += w
    return placed


# -- a line chart over time ------
@dataclass(frozen=True)
class Series:
    """One line: a KPI's values at moments (None: no value then, a gap in the line)."""

    key: str
    label: str
    colour: str
    points: Sequence[tuple[datetime, float | None]]
    target: float | None = None
    dash: str = ""


def _time_labels(
    first: datetime, last: datetime, moments: Sequence[datetime], most: int
) -> list[datetime]:
    """About ``most`` moments to label, always the first and the last; a label too close to the
    last (within an eighth of the span) gives way to it, so the two never overlap."""
    if len(moments) == 1:
        return list(moments)
    span = last - first
    every = max(1, math.ceil(len(moments) / most))
    chosen = [m for m in moments[:-1:every] if m == first or (last - m) * 8 > span]
    return [*chosen, last]


def _time_label(moment: datetime, span_days: int) -> str:
    if span_days > 200:
        return moment.strftime("%b %Y")
    return f"{moment.day} {moment:%b}"


def line_chart(
    chart: str,
    title: str,
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str],
    tick_fmt: Callable[[float], str] | None = None,
    top: float | None = None,
    integer: bool = False,
    width: int = 560,
    height: int = 240,
    legend: bool = True,
) -> Markup:
    """Lines over time, with each series' target as a dashed line of its colour. ``top`` fixes
    the y axis (1.0 for ratios); otherwise it fits the values and targets (in whole steps for
    ``integer`` counts). ``fmt`` writes a value, ``tick_fmt`` (default ``fmt``) an axis label."""
    tick_fmt = tick_fmt or fmt
    moments = sorted({at for s in series for at, _ in s.points})
    values = [v for s in series for _, v in s.points if v is not None]
    values += [s.target for s in series if s.target is not None]
    ticks = (
        [i / 4 for i in range(5)]
        if top == 1.0
        else nice_ticks(max(values, default=0) or 1, most=4 if height < 200 else 5, integer=integer)
    )
    y_top = ticks[-1]
    left, right, top_pad = 46, 12, 12
    legend_texts = [
        s.label + (f" (target {fmt(s.target)})" if s.target is not None else "") for s in series
    ]
    placed = _legend_layout(legend_texts, width, left) if legend else []
    lines = (placed[-1][1] + 1) if placed else 0
    height += max(lines - 1, 0) * 18
    bottom = 24 + lines * 18
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    if not moments:
        return Markup(
            _open(chart, width, height, title)
            + _text(width / 2, height / 2, "no data yet", anchor="middle", fill=MUTED)
            + "</svg>"
        )
    first, last = moments[0], moments[-1]
    total = (last - first).total_seconds() or 1.0

    def x(at: datetime) -> float:
        if len(moments) == 1:
            return left + plot_w / 2
        return left + plot_w * (at - first).total_seconds() / total

    def y(value: float) -> float:
        return top_pad + plot_h * (1 - value / y_top)

    out = [_open(chart, width, height, title, first=first.isoformat(), last=last.isoformat())]
    for tick in ticks:  # grid and y labels
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(_text(left - 6, y(tick) + 4, tick_fmt(tick), anchor="end", fill=MUTED))
    span_days = (last - first).days
    for at in _time_labels(first, last, moments, max(2, plot_w // 85)):
        anchor = "end" if at == last and len(moments) > 1 else "middle"
        if at == first and len(moments) > 1:
            anchor = "start"
        out.append(
            _text(
                x(at), top_pad + plot_h + 16, _time_label(at, span_days), anchor=anchor, fill=MUTED
            )
        )
    for s in series:
        if s.target is not None:
            out.append(
                f'<line class="target" data-series="{escape(s.key)}" '
                f'data-value="{number(s.target)}" x1="{left}" x2="{width - right}" '
                f'y1="{_f(y(s.target))}" y2="{_f(y(s.target))}" stroke="{s.colour}" '
                f'stroke-width="1.5" stroke-dasharray="6 4" opacity="0.7">'
                f"<title>{escape(s.label)}: target {escape(fmt(s.target))}</title></line>"
            )
        run: list[str] = []
        runs: list[list[str]] = []
        for at, value in s.points:
            if value is None:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(f"{_f(x(at))},{_f(y(value))}")
        if run:
            runs.append(run)
        for part in runs:
            if len(part) > 1:
                out.append(
                    f'<polyline points="{" ".join(part)}" fill="none" stroke="{s.colour}" '
                    f'stroke-width="2.5" stroke-linejoin="round"{_dash(s.dash)}/>'
                )
        for at, value in s.points:
            if value is None:
                continue
            out.append(
                f'<circle class="point" data-series="{escape(s.key)}" '
                f'data-at="{at.isoformat()}" data-value="{number(value)}" '
                f'cx="{_f(x(at))}" cy="{_f(y(value))}" r="3.5" fill="{s.colour}">'
                f"<title>{escape(s.label)}, {at:%Y-%m-%d}: {escape(fmt(value))}</title></circle>"
            )
    for s, label, (lx, line) in zip(series, legend_texts, placed, strict=False):
        ly = height - 10 - (lines - 1 - line) * 18
        out.append(
            f'<line x1="{_f(lx)}" x2="{_f(lx + 18)}" y1="{ly}" y2="{ly}" '
            f'stroke="{s.colour}" stroke-width="3"{_dash(s.dash)}/>'
        )
        out.append(_text(lx + 24, ly + 4, label))
    out.append("</svg>")
    return Markup("".join(out))


def _dash(dash: str) -> str:
    return f' stroke-dasharray="{dash}"' if dash else ""


# -- horizontal bars ------
@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    colour: str
    note: str = ""


def bar_chart(
    chart: str,
    title: str,
    bars: Sequence[Bar],
    *,
    width: int = 500,
    label_width: int = 200,
    empty: str = "nothing to show",
    more: int = 0,
) -> Markup:
    """One bar a row, its value at its end; labels longer than the label column are cut with an
    ellipsis (the whole label is the bar's tooltip and its ``data-label``). ``more``: rows left
    out, said under the bars."""
    # drawn in a third of a wide page: a larger type, so it reads at that scale
    row_h, pad = 30, 8
    height = pad * 2 + row_h * max(len(bars), 1) + (18 if more else 0)
    total = sum(b.value for b in bars)
    out = [_open(chart, width, height, title, font_size=14, total=number(total))]
    if not bars:
        out.append(_text(width / 2, height / 2 + 4, empty, anchor="middle", fill=MUTED))
        out.append("</svg>")
        return Markup("".join(out))
    top_value = max(b.value for b in bars) or 1
    plot_w = width - label_width - 60
    chars = max(int(label_width / 8.6), 6)
    for i, b in enumerate(bars):
        y0 = pad + i * row_h
        shown = b.label if len(b.label) <= chars else b.label[: chars - 1] + "…"
        w = max(plot_w * b.value / top_value, 2)
        tip = f"{b.label}: {b.value:g}" + (f" ({b.note})" if b.note else "")
        out.append(
            f'<g class="bar" data-label="{escape(b.label)}" data-value="{number(b.value)}">'
            f"<title>{escape(tip)}</title>"
            + _text(label_width - 8, y0 + 20, shown, anchor="end")
            + f'<rect x="{label_width}" y="{y0 + 5}" width="{_f(w)}" height="{row_h - 10}" '
            f'rx="3" fill="{b.colour}"/>'
            + _text(label_width + w + 6, y0 + 20, f"{b.value:g}", font_weight="600")
            + "</g>"
        )
    if more:
        out.append(_text(label_width, height - 6, f"and {more} more", fill=MUTED))
    out.append("</svg>")
    return Markup("".join(out))


# -- vertical columns, stacked by kind ------
@dataclass(frozen=True)
class Column:
    """One column: its label and its parts ``(kind, count)`` stacked from the bottom."""

    label: str
    parts: Sequence[tuple[str, float]]
    highlight: bool = False  # e.g. past the target: its label is drawn in the warning colour

    @property
    def total(self) -> float:
        return sum(v for _, v in self.parts)


def column_chart(
    chart: str,
    title: str,
    columns: Sequence[Column],
    *,
    colours: dict[str, str],
    width: int = 560,
    height: int = 240,
    marker: tuple[float, str] | None = None,
    highlight_colour: str = "#b42318",
    legend: bool = True,
    empty: str = "",
) -> Markup:
    """Columns with their count above them; ``marker`` = (position in columns, from 0 at the left
    edge of the first to len(columns) at the right of the last; label) draws a vertical rule,
    e.g. where the median falls."""
    left, right, top_pad = 40, 12, 22
    kinds = [k for k in colours if any(k == kind for c in columns for kind, v in c.parts if v)]
    placed = _legend_layout(kinds, width, left) if legend else []
    lines = (placed[-1][1] + 1) if placed else 0
    height += max(lines - 1, 0) * 18
    bottom = 26 + lines * 18
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    total = sum(c.total for c in columns)
    out = [_open(chart, width, height, title, total=number(total))]
    if not total and empty:  # a short strip that says so, not an empty frame
        return Markup(
            _open(chart, width, 40, title, total=number(total))
            + _text(width / 2, 24, empty, anchor="middle", fill=MUTED)
            + "</svg>"
        )
    ticks = nice_ticks(max((c.total for c in columns), default=0) or 1, most=4, integer=True)
    y_top = ticks[-1]

    def y(value: float) -> float:
        return top_pad + plot_h * (1 - value / y_top)

    for tick in ticks:
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" '
            f'stroke="{GRID}"/>'
        )
        out.append(_text(left - 6, y(tick) + 4, f"{tick:g}", anchor="end", fill=MUTED))
    slot = plot_w / max(len(columns), 1)
    bar_w = min(slot * 0.7, 56)
    for i, c in enumerate(columns):
        cx = left + slot * i + slot / 2
        base = 0.0
        parts = []
        for kind, value in c.parts:
            if not value:
                continue
            parts.append(
                f'<rect class="part" data-kind="{escape(kind)}" data-value="{number(value)}" '
                f'x="{_f(cx - bar_w / 2)}" y="{_f(y(base + value))}" width="{_f(bar_w)}" '
                f'height="{_f(y(base) - y(base + value))}" fill="{colours.get(kind, MUTED)}">'
                f"<title>{escape(c.label)}: {value:g} {escape(kind)}</title></rect>"
            )
            base += value
        label_fill = highlight_colour if c.highlight else MUTED
        out.append(
            f'<g class="column" data-label="{escape(c.label)}" data-value="{number(c.total)}">'
            + "".join(parts)
            + (
                _text(cx, y(c.total) - 5, f"{c.total:g}", anchor="middle", font_weight="600")
                if c.total
                else ""
            )
            + _text(cx, top_pad + plot_h + 15, c.label, anchor="middle", fill=label_fill)
            + "</g>"
        )
    if marker is not None:
        position, label = marker
        mx = left + slot * position
        out.append(
            f'<line class="marker" x1="{_f(mx)}" x2="{_f(mx)}" y1="{top_pad - 8}" '
            f'y2="{_f(top_pad + plot_h)}" stroke="{INK}" stroke-width="1.5" '
            f'stroke-dasharray="4 3"/>'
        )
        anchor = "start" if position < len(columns) * 0.7 else "end"
        dx = 4 if anchor == "start" else -4
        out.append(_text(mx + dx, top_pad - 10, label, anchor=anchor, font_weight="600"))
    for kind, (lx, line) in zip(kinds, placed, strict=False):
        ly = height - 17 - (lines - 1 - line) * 18
        out.append(f'<rect x="{_f(lx)}" y="{ly}" width="12" height="12" fill="{colours[kind]}"/>')
        out.append(_text(lx + 16, ly + 10, kind))
    out.append("</svg>")
    return Markup("".join(out))


# -- a heat map of cells in labelled rows ------
@dataclass(frozen=True)
class Cell:
    id: str
    status: str
    tip: str
    marked: bool = False  # drawn with a heavy outline (a gap)


@dataclass(frozen=True)
class HeatRow:
    label: str
    cells: Sequence[Cell] = field(default_factory=tuple)


def heat_map(
    chart: str,
    title: str,
    rows: Sequence[HeatRow],
    *,
    colours: dict[str, str],
    labels: dict[str, str],
    text_colours: dict[str, str] | None = None,
    cell_w: int = 62,
    label_width: int = 270,
) -> Markup:
    """Rows of cells, each cell coloured by its status and labelled with its id; a legend of the
    statuses present (with their counts) under it."""
    cell_h, gap, legend_h = 28, 4, 22
    widest = max((len(r.cells) for r in rows), default=1)
    width = label_width + widest * (cell_w + gap) + 8
    present = [s for s in colours if any(c.status == s for r in rows for c in r.cells)]
    texts = [
        f"{labels.get(s, s)} ({sum(1 for r in rows for c in r.cells if c.status == s)})"
        for s in present
    ]
    placed = _legend_layout(texts, width)
    legend_rows = (placed[-1][1] + 1) if placed else 0
    height = gap + len(rows) * (cell_h + gap) + legend_rows * legend_h + 10
    text_colours = text_colours or {}
    out = [_open(chart, width, height, title, cells=str(sum(len(r.cells) for r in rows)))]
    chars = max(int(label_width / 6.6), 6)
    for i, row in enumerate(rows):
        y0 = gap + i * (cell_h + gap)
        label = row.label if len(row.label) <= chars else row.label[: chars - 1] + "…"
        out.append(
            f"<g><title>{escape(row.label)}</title>"
            + _text(label_width - 8, y0 + 18, label, anchor="end", fill=MUTED)
            + "</g>"
        )
        for j, c in enumerate(row.cells):
            x0 = label_width + j * (cell_w + gap)
            stroke = f' stroke="{INK}" stroke-width="2.5"' if c.marked else ""
            marked = ' data-marked="true"' if c.marked else ""
            out.append(
                f'<g class="cell" data-id="{escape(c.id)}" data-status="{escape(c.status)}"'
                f"{marked}>"
                f"<title>{escape(c.tip)}</title>"
                f'<rect x="{x0}" y="{y0}" width="{cell_w}" height="{cell_h}" rx="4" '
                f'fill="{colours.get(c.status, GRID)}"{stroke}/>'
                + _text(
                    x0 + cell_w / 2,
                    y0 + 18,
                    c.id,
                    anchor="middle",
                    fill=text_colours.get(c.status, INK),
                    font_size="11.5",
                    font_weight="600",
                )
                + "</g>"
            )
    legend_top = gap + len(rows) * (cell_h + gap) + 6
    for status, text, (lx, line) in zip(present, texts, placed, strict=True):
        y0 = legend_top + line * legend_h
        out.append(
            f'<rect x="{_f(lx)}" y="{y0}" width="14" height="14" rx="3" fill="{colours[status]}"/>'
        )
        out.append(_text(lx + 19, y0 + 11.5, text))
    out.append("</svg>")
    return Markup("".join(out))
