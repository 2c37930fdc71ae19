"""Load workflow files: YAML -> :class:`WorkflowSpec`, reporting every problem at once.

Each problem reads ``workflows/risk.yaml:14:5 steps[2].approvers[0]: unknown role 'cisoo' (did you
mean 'ciso'?)``. Bad input of any kind (not UTF-8, empty, YAML syntax, wrong types, unknown keys)
becomes a :class:`~aims_workflows.errors.SpecError`, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..errors import SpecError
from . import model as m
from .checks import DEFAULT_ROLES, check_spec
from .problems import KeyPath, Problem, did_you_mean, format_path
from .source import YamlSource, YamlSyntaxError, read_yaml

__all__ = ["LoadedSpec", "WorkflowSet", "parse_spec", "load_spec", "load_workflows", "spec_hash"]

MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class LoadedSpec:
    """A valid spec with the text it came from and its content hash (runs pin to the hash)."""

    spec: m.WorkflowSpec
    source: str
    text: str
    content_hash: str


def spec_hash(spec: m.WorkflowSpec) -> str:
    """SHA-256 over the canonical JSON of the validated
    spec (formatting and comments don't count)."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _all_keys() -> set[str]:
    keys: set[str] = set()
    for obj in vars(m).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
            keys.update(obj.model_fields)
    return keys


_KNOWN_KEYS = _all_keys()
_STEP_KINDS = ("task", "approval", "decision", "spawn", "record", "notify", "wait")


def _strip_tags(loc: KeyPath, data: object) -> KeyPath:
    """Drop the parts of a pydantic location that are not in the file (union tags, member names)."""
    parts: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict):
            if part in node:
                parts.append(part)
                node = node[part]
            elif part == node.get("kind") or not isinstance(part, str) or "[" in part:
                continue  # a discriminator tag or union member
            else:
                parts.append(part)  # a missing or unknown key: it is what the problem is about
                node = None
        elif isinstance(node, list) and isinstance(part, int):
            parts.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            break  # below a scalar: union member names and the like
    return tuple(parts)


def _describe(error: ErrorDetails, parts: KeyPath) -> tuple[str, str | None]:
    kind = error["type"]
    key = parts[-1] if parts else ""
    if kind == "missing":
        return f"missing required key '{key}'", None
    if kind == "extra_forbidden":
        return f"unknown key '{key}'", did_you_mean(str(key), _KNOWN_KEYS)
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag", "")
        return f"unknown step kind '{tag}'", did_you_mean(str(tag), _STEP_KINDS) or (
            "kinds are " + ", ".join(_STEP_KINDS)
        )
    if kind == "union_tag_not_found":
        return "missing required key 'kind'", "kinds are " + ", ".join(_STEP_KINDS)
    if kind == "string_pattern_mismatch":
        if key == "id" and len(parts) == 1:
            return "must be lower-case words joined by '-' (e.g. 'ai-risk-assessment')", None
        return (
            "must be lower-case snake_case: letters, digits and '_', starting with a letter",
            None,
        )
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        value = error.get("input")
        options = [o.strip().strip("'") for o in str(expected).replace(" or ", ",").split(",")]
        hint = did_you_mean(str(value), options) if isinstance(value, str) else None
        return f"{value!r} is not one of {expected}", hint
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message[0].lower() + message[1:], None


def _structural_problems(err: ValidationError, source: YamlSource, file: str) -> list[Problem]:
    merged: dict[KeyPath, tuple[list[str], str | None]] = {}
    errors = err.errors()
    failing_items = {e["loc"][:1] for e in errors if len(e["loc"]) > 1}
    for error in errors:
        if error["type"] == "too_short" and error["loc"][:1] in failing_items:
            continue  # items that failed validation are not "too few items"
        parts = _strip_tags(error["loc"], source.data)
        message, hint = _describe(error, parts)
        messages, old_hint = merged.setdefault(parts, ([], hint))
        if message not in messages:
            messages.append(message)
        if hint and not old_hint:
            merged[parts] = (messages, hint)
    problems = []
    for parts, (messages, hint) in merged.items():
        line, column = source.position(parts)
        problems.append(
            Problem(file, line, column, format_path(parts), "; or ".join(messages), hint)
        )
    return problems


def _catalog_lookups() -> tuple[Callable[[str], bool], Callable[[str], str | None]]:
    from ..catalog import load_catalog

    catalog = load_catalog()

    def known(cid: str) -> bool:
        # Require the canonical spelling so files stay greppable by id.
        return catalog.is_known(cid) and catalog.normalise(cid) == cid

    return known, catalog.suggest


def parse_spec(
    text: str | bytes, source: str = "<workflow>", *, roles: Iterable[str] | None = None
) -> LoadedSpec:
    """Validate one workflow from text. Raises :class:`SpecError` listing every problem."""
    if isinstance(text, bytes):
        if b"\x00" in text:
            raise SpecError(
                [
                    Problem(
                        source,
                        0,
                        0,
                        "",
                        "is a binary file, not YAML text",
                        "give a .yaml workflow file",
                    )
                ]
            )
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise SpecError(
                [
                    Problem(
                        source,
                        0,
                        0,
                        "",
                        f"is not UTF-8 text (byte {err.start})",
                        "save the file as UTF-8",
                    )
                ]
            ) from None
    if "\x00" in text:
        raise SpecError(
            [
                Problem(
                    source,
                    0,
                    0,
                    "",
                    "is a binary file, not YAML text",
                    "give a .yaml workflow file",
                )
            ]
        )
    if not text.strip():
        raise SpecError(
            [
                Problem(
                    source,
                    0,
                    0,
                    "",
                    "is empty",
                    "a workflow needs at least id, version, title, subject and steps",
                )
            ]
        )
    try:
        yaml_source = read_yaml(text)
    except YamlSyntaxError as err:
        raise SpecError(
            [Problem(source, err.line, err.column, "", f"YAML syntax: {err.message}", None)]
        ) from None
    if not isinstance(yaml_source.data, dict):
        raise SpecError(
            [
                Problem(
                    source,
                    1,
                    1,
                    "",
                    "must be a mapping of keys (id, version, steps ...), not "
                    f"{type(yaml_source.data).__name__}",
                    None,
                )
            ]
        )
    try:
        spec = m.WorkflowSpec.model_validate(yaml_source.data)
    except ValidationError as err:
        raise SpecError(_structural_problems(err, yaml_source, source)) from None
    known, suggest = _catalog_lookups()
    findings = check_spec(
        spec, roles=DEFAULT_ROLES if roles is None else roles, is_known_id=known, suggest_id=suggest
    )
    if findings:
        problems = [
            Problem(source, *yaml_source.position(path), format_path(path), msg, hint)
            for path, msg, hint in findings
        ]
        raise SpecError(sorted(problems, key=lambda p: (p.line, p.column)))
    return LoadedSpec(spec, source, text, spec_hash(spec))


def load_spec(path: str | Path, *, roles: Iterable[str] | None = None) -> LoadedSpec:
    """Validate one workflow file."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(
                [
                    Problem(
                        name,
                        0,
                        0,
                        "",
                        f"is {size} bytes; workflow files are limited to {MAX_FILE_BYTES}",
                        None,
                    )
                ]
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError([Problem(name, 0, 0, "", "no such file", "check the path")]) from None
    except IsADirectoryError:
        raise SpecError(
            [
                Problem(
                    name, 0, 0, "", "is a directory", "pass its .yaml files or use load_workflows"
                )
            ]
        ) from None
    except OSError as err:
        raise SpecError(
            [Problem(name, 0, 0, "", f"cannot be read: {err.strerror}", None)]
        ) from None
    return parse_spec(raw, name, roles=roles)


class WorkflowSet:
    """Several workflows checked together: spawn targets, triggers and inputs across files."""

    def __init__(self, loaded: Sequence[LoadedSpec]) -> None:
        self._by_id = {item.spec.id: item for item in loaded}

    def __iter__(self) -> Iterator[LoadedSpec]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, workflow_id: object) -> bool:
        return workflow_id in self._by_id

    def get(self, workflow_id: str) -> LoadedSpec:
        from ..errors import NotFound

        try:
            return self._by_id[workflow_id]
        except KeyError:
            hint = (
                did_you_mean(workflow_id, self._by_id) or "see `aims workflows` for the loaded ones"
            )
            raise NotFound(f"no workflow '{workflow_id}'", hint=hint) from None

    def ids(self) -> list[str]:
        return sorted(self._by_id)


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


def load_workflows(
    paths: Iterable[str | Path], *, roles: Iterable[str] | None = None
) -> WorkflowSet:
    """Load files and directories of workflows; every problem of every file is reported at once."""
    roles = list(roles) if roles is not None else None
    loaded: list[LoadedSpec] = []
    problems: list[Problem] = []
    for path in _expand(paths):
        try:
            loaded.append(load_spec(path, roles=roles))
        except SpecError as err:
            problems.extend(err.problems)
    problems.extend(_cross_file_problems(loaded))
    if problems:
        raise SpecError(problems)
    return WorkflowSet(loaded)


def _cross_file_problems(loaded: list[LoadedSpec]) -> list[Problem]:
    problems: list[Problem] = []
    by_id: dict[str, LoadedSpec] = {}
    for item in loaded:
        if item.spec.id in by_id:
            problems.append(
                Problem(
                    item.source,
                    1,
                    1,
                    "id",
                    f"duplicate workflow id '{item.spec.id}'",
                    f"{by_id[item.spec.id].source} has it already",
                )
            )
        by_id.setdefault(item.spec.id, item)

    def located(item: LoadedSpec, parts: KeyPath, message: str, hint: str | None = None) -> Problem:
        line, column = read_yaml(item.text).position(parts)
        return Problem(item.source, line, column, format_path(parts), message, hint)

    for item in loaded:
        spec = item.spec
        for i, step in enumerate(spec.steps):
            if not isinstance(step, m.SpawnStep):
                continue
            target = by_id.get(step.workflow)
            if target is None:
                problems.append(
                    located(
                        item,
                        ("steps", i, "workflow"),
                        f"unknown workflow '{step.workflow}'",
                        did_you_mean(step.workflow, by_id),
                    )
                )
                continue
            if step.finding and target.spec.subject != "finding":
                problems.append(
                    located(
                        item,
                        ("steps", i, "finding"),
                        f"'{step.workflow}' does not take a finding as its subject",
                    )
                )
            if not step.finding and target.spec.subject not in (spec.subject, "organisation"):
                problems.append(
                    located(
                        item,
                        ("steps", i, "workflow"),
                        f"'{step.workflow}' runs on a {target.spec.subject}, "
                        f"this workflow on a {spec.subject}",
                        "add 'finding:' to raise a finding for it",
                    )
                )
            declared = {d.id: d for d in target.spec.inputs}
            for name in step.inputs:
                if name not in declared:
                    problems.append(
                        located(
                            item,
                            ("steps", i, "inputs", name),
                            f"'{step.workflow}' has no input '{name}'",
                            did_you_mean(name, declared),
                        )
                    )
            for name, decl in declared.items():
                if decl.required and name not in step.inputs:
                    problems.append(
                        located(
                            item,
                            ("steps", i, "inputs"),
                            f"missing required input '{name}' of '{step.workflow}'",
                        )
                    )
        for j, on in enumerate(spec.trigger.on):
            if on.workflow and on.workflow not in by_id:
                problems.append(
                    located(
                        item,
                        ("trigger", "on", j, "workflow"),
                        f"unknown workflow '{on.workflow}'",
                        did_you_mean(on.workflow, by_id),
                    )
                )
    return problems
