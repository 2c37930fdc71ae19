"""The management-review input pack as Markdown (for Confluence or Git) or as one self-contained
HTML page (no external assets, prints cleanly), and writing it so that it appears whole or not
at all."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .._files import atomic_output
from ..soa.render import _md
from .model import Figure, ReviewPack

__all__ = ["FORMATS", "render_review", "write_review", "default_review_name", "number"]

FORMATS = ("md", "html")

_UNITS = {"days": " days", "hours": " hours", "score": ""}


def number(value: float | None, unit: str = "count") -> str:
    """A figure as people read it: whole counts with thousands separators, ratios as whole
    percentages, other measures to one decimal without a trailing ``.0`` (never
    ``0.30000000000000004``)."""
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{round(value * 100)}%"
    if unit == "count":
        return f"{round(value):,}"
    text = f"{round(value, 1):,.1f}".removesuffix(".0")
    return text + _UNITS.get(unit, f" {unit}")


def _target(figure: Figure) -> str:
    if figure.target is None:
        return ""
    sign = "≥" if figure.better == "up" else "≤"
    return f"{sign} {number(figure.target, figure.unit)}"


def _trend(figure: Figure) -> str:
    trend = figure.trend
    if trend is None:
        return "n/a"
    arrow = {"up": "↑ up", "down": "↓ down", "same": "= same"}[trend]
    return f"{arrow} ({figure.verdict})" if figure.verdict else arrow


def _met(figure: Figure) -> str:
    met = figure.met
    return "" if met is None else "met" if met else "NOT MET"


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10] if value else ""


def _moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _text(value: Any) -> str:
    """A recorded value in words: lists joined, snake_case choices spaced, nothing as a dash."""
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    text = str(value)
    return text.replace("_", " ") if text.isidentifier() else text


def default_review_name(now: datetime, fmt: str) -> str:
    return f"aims-review-pack-{now:%Y-%m-%d}.{fmt}"


def render_review(pack: ReviewPack, fmt: str) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: md or html")
    # HTML is autoescaped (action texts, risk titles and names come from people); in Markdown
    # every such value goes through the `md` filter, which defuses pipes and tags.
    env = Environment(
        loader=PackageLoader("aims_workflows.export.review", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=number,
        target=_target,
        trend=_trend,
        met=_met,
        day=_day,
        moment=_moment,
        text=_text,
        md=_md,
    )
    template = env.get_template(f"review.{fmt}.j2")
    text = template.render(
        pack=pack, p=pack.period, pc=pack.period.current, pp=pack.period.previous
    )
    # the macros leave blank lines of their own; Markdown needs one between blocks, never more
    return re.sub(r"\n{3,}", "\n\n", text) if fmt == "md" else text


def write_review(pack: ReviewPack, target: Path, fmt: str, *, force: bool) -> int:
    """Render and write atomically (see ``_files``); returns the size in bytes."""
    data = render_review(pack, fmt).encode("utf-8")
    with atomic_output(target, force=force) as out:
        out.write(data)
    return len(data)
