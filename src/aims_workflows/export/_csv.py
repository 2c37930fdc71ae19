"""CSV cells an auditor can open in a spreadsheet safely and read unambiguously."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TextIO

from ..engine.evidence import iso

__all__ = ["cell", "write_csv", "csv_text"]

# A spreadsheet runs a cell that begins with one of these as a formula ("=HYPERLINK(...)" in a
# system name or an approval reason). Such text is written with a leading apostrophe, which
# spreadsheets hide; the exact values stay in evidence/ledger.jsonl.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as CSV text: times in UTC ISO form,
    lists and mappings as JSON, booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # plain decimals (no exponent) for hours and days; whole numbers without ".0"
        return str(int(value)) if value.is_integer() else repr(round(value, 6))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict), default=str)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_csv(out: TextIO, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> int:
    """Header then rows, streamed; returns the number of data rows."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(header))
    count = 0
    for row in rows:
        writer.writerow([cell(v) for v in row])
        count += 1
    return count


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    import io

    out = io.StringIO()
    write_csv(out, header, rows)
    return out.getvalue()
