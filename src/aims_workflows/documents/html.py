"""The readiness page of the dashboard (``/dashboard/readiness``), in the dashboard's look: its
templates extend the dashboard's ``base.html``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from .readiness import ReadinessReport

__all__ = ["render_readiness"]

PILL = {"met": "ok", "partial": "warn", "stale": "warn", "missing": "bad"}


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

    here = Path(__file__).parent
    return Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(here / "templates"),
                FileSystemLoader(here.parent / "kpi" / "templates"),
            ]
        ),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_readiness(report: ReadinessReport, *, organisation: str) -> str:
    return str(
        _environment()
        .get_template("readiness.html")
        .render(r=report, organisation=organisation, pill=PILL, counts=report.counts())
    )
