"""Options the ``aims export`` commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..export.period import Period

__all__ = ["Since", "Until", "Format", "OutOrTerminal", "ForceOut", "period_from_options"]

Since = Annotated[
    str | None,
    typer.Option("--since", help="first day of the period, YYYY-MM-DD (UTC, included)"),
]
Until = Annotated[
    str | None,
    typer.Option("--until", help="last day of the period, YYYY-MM-DD (UTC, included)"),
]
Format = Annotated[str, typer.Option("--format", help="table, csv, md or json")]
OutOrTerminal = Annotated[
    Path | None, typer.Option("--out", help="write to this file instead of the terminal")
]
ForceOut = Annotated[bool, typer.Option("--force", help="replace --out if it exists")]


def period_from_options(since: str | None, until: str | None) -> Period:
    """The reporting period of ``--since`` and ``--until``; a bad date is a usage error that
    names the option."""
    from ..export.period import parse_period

    try:
        return parse_period(since, until)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None  # the message names the option
