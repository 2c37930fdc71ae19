"""Turning the YAML data file into a validated :class:`Catalog`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from aims_workflows.errors import ConfigError

from ._ids import is_annex, normalise
from ._model import Catalog, CatalogEntry, Kind, structural_problems

__all__ = ["DATA_FILE", "EXPECTED_CONTROLS", "EXPECTED_TOP_GROUPS", "read_text", "parse", "build"]

DATA_FILE = "iso42001.yaml"

# Fixed by the 2023 edition of the standard; a different count means the data file was damaged
# or edited carelessly, and workflows would silently lose or gain controls.
EXPECTED_CONTROLS = 38
EXPECTED_TOP_GROUPS = ("A.2", "A.3", "A.4", "A.5", "A.6", "A.7", "A.8", "A.9", "A.10")

_TOP_KEYS = {"version", "standard", "evidence_kinds", "clauses", "annex_a", "crosswalk"}
_ENTRY_KEYS = {"id", "parent", "title", "summary"}
_CONTROL_KEYS = _ENTRY_KEYS | {"group", "evidence_kinds"}
_HINT = "fix the listed entries in src/aims_workflows/catalog/iso42001.yaml"


def read_text() -> str:
    """The packaged data file's text, read through ``importlib.resources`` (zip-safe)."""
    from importlib.resources import files

    return files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")


def parse(text: str, *, source: str = DATA_FILE) -> Any:
    """YAML text -> plain Python data, using ruamel's safe loader (no arbitrary objects)."""
    # Imported here so that importing the package does not pay for ruamel.
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise ConfigError(f"cannot parse catalogue data {source}: {exc}", hint=_HINT) from exc


def build(data: Any, *, source: str = DATA_FILE) -> Catalog:
    """Validate parsed catalogue data and build the :class:`Catalog`.

    Raises ``ConfigError`` listing every problem found: wrong shapes, unquoted or
    non-canonical ids, duplicate ids, missing parents, unknown evidence kinds, a crosswalk that
    points nowhere, or a control count other than 38.
    """
    problems: list[str] = []
    if not isinstance(data, Mapping):
        _fail(source, [f"top level must be a mapping, got {type(data).__name__}"])
    for key in sorted(set(data) - _TOP_KEYS, key=str):
        problems.append(f"unexpected top-level key {key!r}")
    if data.get("version") != 1:
        problems.append(f"version must be 1, got {data.get('version')!r}")
    standard = data.get("standard")
    if not isinstance(standard, str) or not standard.strip():
        problems.append("standard must be a non-empty string")
        standard = ""

    vocabulary = _evidence_vocabulary(data.get("evidence_kinds"), problems)
    entries: list[CatalogEntry] = []
    for raw in _list(data.get("clauses"), "clauses", problems):
        entry = _entry(raw, "clause", "clauses", problems)
        if entry is not None:
            entries.append(entry)

    annex = data.get("annex_a")
    if not isinstance(annex, Mapping):
        problems.append("annex_a must be a mapping with 'groups' and 'controls'")
        annex = {}
    for raw in _list(annex.get("groups"), "annex_a.groups", problems):
        entry = _entry(raw, "group", "annex_a.groups", problems)
        if entry is not None:
            entries.append(entry)
    for raw in _list(annex.get("controls"), "annex_a.controls", problems):
        entry = _entry(raw, "control", "annex_a.controls", problems)
        if entry is not None:
            entries.append(entry)

    crosswalk = _crosswalk(data.get("crosswalk"), problems)

    problems.extend(structural_problems(entries, crosswalk, vocabulary))
    controls = [e for e in entries if e.kind == "control"]
    if len(controls) != EXPECTED_CONTROLS:
        problems.append(f"expected {EXPECTED_CONTROLS} controls, found {len(controls)}")
    top_groups = tuple(e.id for e in entries if e.kind == "group" and e.parent is None)
    if sorted(top_groups) != sorted(EXPECTED_TOP_GROUPS):
        problems.append(
            f"expected top-level groups {list(EXPECTED_TOP_GROUPS)}, found {list(top_groups)}"
        )
    if problems:
        _fail(source, problems)
    return Catalog(entries, crosswalk=crosswalk, evidence_kinds=vocabulary, standard=standard)


def _fail(source: str, problems: list[str]) -> NoReturn:
    raise ConfigError(
        f"catalogue data {source} is invalid: {len(problems)} problem(s):\n- "
        + "\n- ".join(problems),
        hint=_HINT,
    )


def _list(value: Any, where: str, problems: list[str]) -> list[Any]:
    if not isinstance(value, list) or not value:
        problems.append(f"{where} must be a non-empty list")
        return []
    return value


def _evidence_vocabulary(value: Any, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        problems.append("evidence_kinds must be a non-empty mapping of name -> description")
        return {}
    vocabulary: dict[str, str] = {}
    for name, description in value.items():
        if not isinstance(name, str) or not isinstance(description, str) or not description:
            problems.append(f"evidence_kinds: {name!r} needs a string name and description")
            continue
        vocabulary[name] = description
    return vocabulary


def _entry(raw: Any, kind: Kind, where: str, problems: list[str]) -> CatalogEntry | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: every item must be a mapping, got {raw!r}")
        return None
    raw_id = raw.get("id")
    if not isinstance(raw_id, str):
        # The usual cause: `id: 6.1` without quotes, which YAML reads as a float.
        problems.append(f"{where}: id {raw_id!r} must be a quoted string")
        return None
    label = f"{where} {raw_id!r}"
    allowed = _CONTROL_KEYS if kind == "control" else _ENTRY_KEYS
    for key in sorted(set(raw) - allowed, key=str):
        problems.append(f"{label}: unexpected key {key!r}")
    for key in sorted(allowed - set(raw)):
        problems.append(f"{label}: missing key {key!r}")
    if normalise(raw_id) != raw_id:
        problems.append(f"{label}: write the id in canonical form {normalise(raw_id)!r}")
    if not _well_formed(raw_id):
        problems.append(f"{label}: id must look like '6.1.2' or 'A.6.2.8'")
        return None

    texts: dict[str, str] = {}
    for key in ("title", "summary"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{label}: {key} must be non-empty text")
            value = ""
        texts[key] = value.strip()

    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append(f"{label}: parent {parent!r} must be a quoted string or null")
        parent = None

    group: str | None = None
    evidence: tuple[str, ...] = ()
    if kind == "control":
        group = raw.get("group")
        if not isinstance(group, str):
            problems.append(f"{label}: group {group!r} must be a string such as 'A.6'")
            group = None
        raw_kinds = raw.get("evidence_kinds")
        if not isinstance(raw_kinds, list) or not all(isinstance(k, str) for k in raw_kinds):
            problems.append(f"{label}: evidence_kinds must be a list of names")
        else:
            if len(set(raw_kinds)) != len(raw_kinds):
                problems.append(f"{label}: evidence_kinds lists a kind twice")
            evidence = tuple(raw_kinds)
    elif kind == "group" and parent is not None:
        group = ".".join(raw_id.split(".")[:2])

    return CatalogEntry(
        id=raw_id,
        kind=kind,
        title=texts["title"],
        summary=texts["summary"],
        parent=parent,
        group=group,
        evidence_kinds=evidence,
    )


def _well_formed(id: str) -> bool:
    parts = id.split(".")
    if is_annex(id):
        parts = parts[1:]
    return bool(parts) and all(p.isdigit() and not p.startswith("0") for p in parts)


def _crosswalk(value: Any, problems: list[str]) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append("crosswalk must map control ids to lists of clause ids")
        return {}
    crosswalk: dict[str, list[str]] = {}
    for control_id, clause_ids in value.items():
        if not isinstance(control_id, str) or not isinstance(clause_ids, list):
            problems.append(f"crosswalk: {control_id!r} must map to a list of clause ids")
            continue
        bad = [c for c in clause_ids if not isinstance(c, str)]
        if bad:
            problems.append(f"crosswalk: {control_id!r} has unquoted clause ids {bad!r}")
            continue
        crosswalk[control_id] = list(clause_ids)
    return crosswalk
