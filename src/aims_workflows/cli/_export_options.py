"""Options the ``aims export`` commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["Since", "Until", "Format", "OutOrTerminal", "ForceOut"]

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
