"""Console output shared by the commands."""

from __future__ import annotations

import sys
from functools import lru_cache

__all__ = ["console", "err_console", "error", "ok", "styled", "table"]


@lru_cache(maxsize=1)
def console():
    from rich.console import Console

    return Console(highlight=False)


@lru_cache(maxsize=1)
def err_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def error(err) -> None:
    from rich.markup import escape

    message = getattr(err, "message", str(err))
    hint = getattr(err, "hint", None)
    err_console().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if hint:
        err_console().print(f"[yellow]hint:[/] {escape(hint)}", soft_wrap=True)


def ok(text: str) -> None:
    console().print(f"[green]✓[/] {text}")


def write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


RUN_ID_WIDTH = 11
"""Run ids are ``R`` and ten hex digits: wide enough never to be cut."""


def styled(markup: str):
    """A cell we colour on purpose (``styled("[red]overdue[/]")``); other cells are plain text."""
    from rich.text import Text

    return Text.from_markup(markup)


def table(*columns: str, ids: tuple[str, ...] = ()):
    """A Rich table for data from the database: plain strings are shown as they are (a system
    named ``[red]x`` is not red), and identifier columns (run ids, issue keys ...) are never cut
    with an ellipsis: people copy them into the next command. Run ids keep one line; longer ids
    fold."""
    from rich.table import Table
    from rich.text import Text

    class _PlainTable(Table):
        def add_row(self, *cells, **kwargs):
            super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kwargs)

    result = _PlainTable()
    for name in columns:
        if name == "run":
            result.add_column(name, no_wrap=True, min_width=RUN_ID_WIDTH)
        elif name in ids:
            result.add_column(name, overflow="fold", min_width=8)
        else:
            result.add_column(name)
    return result
