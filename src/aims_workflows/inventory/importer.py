"""Reading inventory import files (CSV, JSON, YAML): validated row by row and refused whole if
any row is wrong, with every row and column reason, so nothing is half imported."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import InventoryError
from .model import AISystemRecord, field_problems

__all__ = ["parse_import"]


def _rows(path: Path, text: str) -> tuple[list[dict[str, Any]], list[int | None]]:
    """The file's rows, and for each the line it is on (None where the format has no lines to
    point at, as in JSON), so that an error can send the user to the right line."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise InventoryError(
                f"{path}: no header row", hint="the first line names the columns: name,owner,..."
            )
        rows: list[dict[str, Any]] = []
        lines: list[int | None] = []
        for row in reader:
            rows.append(
                {
                    k.strip(): (v if v is not None else "")
                    for k, v in row.items()
                    if k is not None and (v or "").strip() != ""
                }
            )
            # the row's last line: its only one unless a quoted value spans lines
            lines.append(reader.line_num)
        return rows, lines
    source = None
    if suffix == ".json":
        data = json.loads(text)
    elif suffix in (".yaml", ".yml"):
        from ..spec.source import read_yaml

        source = read_yaml(text)
        data = source.data
    else:
        raise InventoryError(
            f"{path}: unsupported file type '{suffix}'", hint="use .csv, .json or .yaml"
        )
    prefix: tuple[str, ...] = ()
    if isinstance(data, dict) and "systems" in data:
        data, prefix = data["systems"], ("systems",)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InventoryError(
            f"{path}: expected a list of systems",
            hint="a list of mappings, or 'systems:' holding one",
        )
    lines = [source.position((*prefix, i))[0] if source else None for i in range(len(data))]
    return data, lines


def _line_note(line: int | None) -> str:
    return f" (line {line})" if line else ""


def parse_import(path: Path) -> list[AISystemRecord]:
    """All records of an import file, or InventoryError
    with (row, column, reason) for each problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InventoryError(
            f"{path}: cannot be read as UTF-8 text ({err.__class__.__name__})"
        ) from None
    try:
        rows, lines = _rows(path, text)
    except InventoryError:
        raise
    except Exception as err:  # noqa: BLE001 - JSON/YAML syntax errors of every flavour
        raise InventoryError(
            f"{path}: not valid {path.suffix.lstrip('.').upper()}: {err}".splitlines()[0]
        ) from None
    records: list[AISystemRecord] = []
    problems: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        try:
            record = AISystemRecord.model_validate(row)
        except ValidationError as err:
            problems.extend((number, column, message) for column, message in field_problems(err))
            continue
        if record.name.lower() in seen:
            problems.append((number, "name", f"duplicate of row {seen[record.name.lower()]}"))
        seen.setdefault(record.name.lower(), number)
        records.append(record)
    if problems:
        detail = "\n".join(
            f"  row {r}{_line_note(lines[r - 1])}, column {c}: {m}" for r, c, m in problems
        )
        raise InventoryError(
            f"{path}: {len(problems)} problem(s); nothing was imported:\n{detail}",
            problems=problems,
            hint="fix the rows and import the file again",
        )
    if not records:
        raise InventoryError(f"{path}: no systems in the file")
    return records
