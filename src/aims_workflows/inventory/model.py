"""The AI system inventory record: fields, validation, and reading import files.

A record is validated as a whole; an import is validated row by row and refused whole if any
row is wrong, with every row and column reason, so nothing is half imported.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InventoryError

__all__ = [
    "AISystemRecord",
    "MATERIAL_FIELDS",
    "LIFECYCLE_STAGES",
    "RISK_TIERS",
    "parse_import",
    "validate_changes",
    "LIST_FIELDS",
]

LIFECYCLE_STAGES = (
    "inception",
    "design",
    "development",
    "validation",
    "deployed",
    "monitoring",
    "retired",
)
RISK_TIERS = ("minimal", "limited", "high", "unacceptable")
DEPLOYMENT_SCALES = ("pilot", "internal", "limited", "broad", "public")
LIST_FIELDS = ("data_sources", "dependencies", "jurisdictions")
MATERIAL_FIELDS = frozenset(
    {
        "business_purpose",
        "model_type",
        "data_sources",
        "outputs",
        "users",
        "deployment_scale",
        "dependencies",
        "lifecycle_stage",
        "risk_tier",
        "in_scope",
        "jurisdictions",
    }
)
"""Changing one of these emits ``ai_system.changed``; renaming or a new owner is history only."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]
    return value


class AISystemRecord(BaseModel):
    """One AI system as the inventory holds it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    owner: str = Field(description="accountable person's e-mail")
    business_purpose: str = ""
    model_type: str = Field("", max_length=100)
    data_sources: list[str] = Field(default_factory=list)
    outputs: str = ""
    users: str = ""
    deployment_scale: Literal["", "pilot", "internal", "limited", "broad", "public"] = ""
    dependencies: list[str] = Field(default_factory=list)
    lifecycle_stage: Literal[
        "", "inception", "design", "development", "validation", "deployed", "monitoring", "retired"
    ] = ""
    risk_tier: Literal["", "minimal", "limited", "high", "unacceptable"] = ""
    in_scope: bool = True
    jurisdictions: list[str] = Field(default_factory=list)

    @field_validator("owner")
    @classmethod
    def _owner_email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"'{value}' is not an e-mail address: the owner is named by e-mail")
        return value.lower()

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("in_scope", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in (
            "yes",
            "y",
            "true",
            "1",
            "no",
            "n",
            "false",
            "0",
        ):
            return value.strip().lower() in ("yes", "y", "true", "1")
        return value


def _reasons(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in err.errors():
        column = ".".join(str(p) for p in e["loc"][:1]) or "(row)"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = f"unknown column; columns are {', '.join(AISystemRecord.model_fields)}"
        out.append((column, message))
    return out


def validate_changes(current: dict[str, Any], changes: dict[str, Any]) -> AISystemRecord:
    """The record after applying ``changes``; raises InventoryError naming each bad field."""
    unknown = sorted(set(changes) - set(AISystemRecord.model_fields))
    if unknown:
        raise InventoryError(
            f"unknown field(s): {', '.join(unknown)}",
            hint=f"fields are {', '.join(AISystemRecord.model_fields)}",
        )
    try:
        return AISystemRecord.model_validate({**current, **changes})
    except ValidationError as err:
        problems = _reasons(err)
        raise InventoryError(
            "; ".join(f"{c}: {m}" for c, m in problems), problems=problems
        ) from None


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
            problems.extend((number, column, message) for column, message in _reasons(err))
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
