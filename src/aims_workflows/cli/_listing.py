"""How every list command prints: ``--format table | plain | json | csv``.

A table fits the terminal (80 columns in a pipe): identifier columns (run ids, approval ids,
issue keys) are never cut or wrapped, because people paste them into the next command; other
columns wrap at word boundaries, and when even that does not fit, the least important columns
are left out and a footnote names them. ``plain`` is one line per row with tab-separated fields
(for ``cut`` and ``grep``), ``json`` a list of objects, ``csv`` a header and rows.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import typer

__all__ = [
    "Column",
    "FormatOption",
    "ListFormat",
    "column_widths",
    "emit",
    "fit_columns",
    "fitted_table",
    "note_left_out",
]


class ListFormat(StrEnum):
    table = "table"
    plain = "plain"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    ListFormat,
    typer.Option(
        "--format",
        help="table (fits the terminal), plain (tab-separated, no header), json or csv",
        case_sensitive=False,
    ),
]


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    rank: int = 1
    """0: an identifier, never left out or wrapped; higher numbers are left out first."""


def _words(value: str) -> int:
    return max((len(w) for w in value.split()), default=0)


def _box_width(widths: Sequence[int]) -> int:
    # Rich's default box: one space of padding each side, a rule between and around columns
    return sum(widths) + 3 * len(widths) + 1


def _longest_line(cells: Sequence[str]) -> int:
    return max((len(line) for cell in cells for line in (cell.splitlines() or [""])), default=0)


def column_widths(
    columns: Sequence[Column], rows: Sequence[dict[str, str]], width: int
) -> dict[str, int]:
    """Each kept column's width, so that the table fits ``width``: ids keep one line, the other
    columns wrap between words, and the least important columns are left out when even the
    narrowest layout is too wide (those are missing from the result)."""

    def cells(column: Column) -> list[str]:
        return [column.header, *(row.get(column.key, "") for row in rows)]

    def narrowest(column: Column) -> int:
        found = cells(column)
        return _longest_line(found) if column.rank == 0 else max(_words(c) for c in found)

    kept = list(columns)
    while _box_width([narrowest(c) for c in kept]) > width:
        droppable = [c for c in kept if c.rank > 0]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda c: (c.rank, columns.index(c))))
    widths = {c.key: _longest_line(cells(c)) for c in kept}
    floor = {c.key: narrowest(c) for c in kept}
    # narrow the widest column that can still wrap, one character at a time, until it fits
    while _box_width(list(widths.values())) > width:
        shrinkable = [k for k in widths if widths[k] > floor[k]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda k: widths[k])
        widths[widest] -= 1
    return widths


def fit_columns(
    columns: Sequence[Column], rows: Sequence[dict[str, str]], width: int
) -> list[Column]:
    """The columns that fit ``width`` (see :func:`column_widths`)."""
    kept = column_widths(columns, rows, width)
    return [c for c in columns if c.key in kept]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)


def emit(
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    fmt: ListFormat = ListFormat.table,
    *,
    styles: dict[str, Any] | None = None,
    empty: str | None = None,
) -> None:
    """Print ``rows`` (dicts keyed by column key) in ``fmt``.

    ``styles`` maps a column key to a function of the row giving a Rich markup string for the
    table only (``overdue`` in red); plain, json and csv carry the bare values."""
    if fmt is ListFormat.json:
        sys.stdout.write(
            json.dumps(
                [{c.key: row.get(c.key) for c in columns} for row in rows], indent=2, default=str
            )
            + "\n"
        )
        return
    if fmt is ListFormat.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        for row in rows:
            writer.writerow([_text(row.get(c.key)) for c in columns])
        sys.stdout.write(out.getvalue())
        return
    if fmt is ListFormat.plain:
        for row in rows:
            cells = [_text(row.get(c.key)).replace("\t", " ").replace("\n", " ") for c in columns]
            sys.stdout.write("\t".join(cells) + "\n")
        return
    _table(columns, rows, styles or {}, empty)


def _table(
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    styles: dict[str, Any],
    empty: str | None,
) -> None:
    from ._output import console

    if not rows and empty:
        console().print(empty, markup=False)
        return
    table, left_out = fitted_table(columns, rows, styles, console().width)
    console().print(table)
    note_left_out(left_out, console().width)


def note_left_out(left_out: Sequence[str], width: int, other: str = "plain, json or csv") -> None:
    from ._output import console

    if left_out:
        console().print(
            f"(left out to fit {width} columns: {', '.join(left_out)}; "
            f"--format {other} shows every column)",
            markup=False,
        )


def fitted_table(
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    styles: dict[str, Any],
    width: int,
    title: str | None = None,
) -> tuple[Any, list[str]]:
    """A Rich table of ``rows`` that fits ``width`` (see :func:`column_widths`), and the
    headers of the columns left out."""
    from rich.table import Table
    from rich.text import Text

    def shown(row: dict[str, Any], column: Column) -> str:
        style = styles.get(column.key)
        return Text.from_markup(style(row)).plain if style else _text(row.get(column.key))

    text_rows = [{c.key: shown(row, c) for c in columns} for row in rows]
    widths = column_widths(columns, text_rows, width)
    kept = [c for c in columns if c.key in widths]
    table = Table(title=title, title_justify="left")
    for column in kept:
        table.add_column(
            column.header,
            width=widths[column.key],
            no_wrap=column.rank == 0,
            overflow="ignore" if column.rank == 0 else "fold",
        )
    for row, text_row in zip(rows, text_rows, strict=True):
        cells = []
        for column in kept:
            style = styles.get(column.key)
            cells.append(Text.from_markup(style(row)) if style else Text(text_row[column.key]))
        table.add_row(*cells)
    return table, [c.header for c in columns if c not in kept]
