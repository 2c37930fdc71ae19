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
from typing import Any

from pydantic import ValidationError

from ..errors import SpecError
from . import model as m
from .checks import DEFAULT_ROLES, check_spec
from .cross_file import cross_file_problems
from .problems import Problem, did_you_mean, format_path
from .source import YamlSyntaxError, read_yaml
from .structural import structural_problems, without_unknown_keys

__all__ = [
    "BrokenFile",
    "LoadedSpec",
    "WorkflowSet",
    "parse_spec",
    "load_spec",
    "load_workflows",
    "spec_hash",
    "spec_canonical_json",
]

MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class LoadedSpec:
    """A valid spec with the text it came from and its content hash (runs pin to the hash)."""

    spec: m.WorkflowSpec
    source: str
    text: str
    content_hash: str


# Keys the language gained after runs were first pinned to hashes (step options, form-field
# options): left out of the canonical form while unset, so a workflow that does not use them
# keeps the hash its runs pinned (else every stored run would read as tampered, and every
# shipped file as changed without a version bump, after an upgrade). Add every new optional key.
LATER_OPTIONAL_KEYS = frozenset(
    {"assignee", "expire", "withdraw_within", "step_up", "line_keys", "due_on", "outputs"}
)


def _without_unset_later_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_unset_later_keys(v)
            for k, v in value.items()
            if not (k in LATER_OPTIONAL_KEYS and v is None)
        }
    if isinstance(value, list):
        return [_without_unset_later_keys(v) for v in value]
    return value


def spec_canonical_json(spec: m.WorkflowSpec) -> str:
    """The canonical JSON a spec's hash covers: its validated model, sorted and compact, the
    keys of :data:`LATER_OPTIONAL_KEYS` left out while unset."""
    dumped = _without_unset_later_keys(spec.model_dump(mode="json"))
    return json.dumps(dumped, sort_keys=True, separators=(",", ":"))


def spec_hash(spec: m.WorkflowSpec) -> str:
    """SHA-256 over the canonical JSON of the validated
    spec (formatting and comments don't count)."""
    return hashlib.sha256(spec_canonical_json(spec).encode()).hexdigest()


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
    problems: list[Problem] = []
    try:
        spec = m.WorkflowSpec.model_validate(yaml_source.data)
    except ValidationError as err:
        problems = structural_problems(err, yaml_source, source)
        # unknown keys alone: check the rest of the file too, so every problem shows at once
        cleaned = without_unknown_keys(err, yaml_source.data)
        if cleaned is None:
            raise SpecError(problems) from None
        try:
            spec = m.WorkflowSpec.model_validate(cleaned)
        except ValidationError:
            raise SpecError(problems) from None
    known, suggest = _catalog_lookups()
    findings = check_spec(
        spec, roles=DEFAULT_ROLES if roles is None else roles, is_known_id=known, suggest_id=suggest
    )
    problems += [
        Problem(source, *yaml_source.position(path), format_path(path), msg, hint)
        for path, msg, hint in findings
    ]
    if problems:
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


@dataclass(frozen=True)
class BrokenFile:
    """A workflow file left out because it has problems (``load_workflows(..., lenient=True)``):
    the other files keep working, and this one is named wherever the workflows are listed."""

    source: str
    workflow_id: str | None
    """The ``id`` the file declares, when it can be read at all."""
    problems: tuple[Problem, ...]

    def summary(self) -> str:
        if not self.problems:
            return f"{self.source} is not loaded"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{self.problems[0]}{more}; {self.source} is not loaded"


class WorkflowSet:
    """Several workflows checked together: spawn targets, triggers and inputs across files."""

    def __init__(self, loaded: Sequence[LoadedSpec], broken: Sequence[BrokenFile] = ()) -> None:
        self._by_id = {item.spec.id: item for item in loaded}
        self.broken: tuple[BrokenFile, ...] = tuple(broken)
        """Files left out because of their problems (only when loaded leniently)."""

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
            for broken in self.broken:
                if broken.workflow_id == workflow_id:
                    raise NotFound(
                        f"workflow '{workflow_id}' is not loaded: {broken.source} has problems",
                        hint="run `aims validate` to see them all, fix the file and try again",
                    ) from None
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


def _declared_id(path: Path) -> str | None:
    """The ``id:`` a file declares, read as plainly as possible (the file may be broken)."""
    try:
        data = read_yaml(path.read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, YamlSyntaxError, ValueError):
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def load_workflows(
    paths: Iterable[str | Path], *, roles: Iterable[str] | None = None, lenient: bool = False
) -> WorkflowSet:
    """Load files and directories of workflows; every problem of every file is reported at once.

    ``lenient``: a file with problems is left out (listed in :attr:`WorkflowSet.broken`) and the
    others load, so one typo does not stop the KPIs, the dashboard or the runs of other
    workflows. Without it, any problem raises :class:`SpecError`.
    """
    roles = list(roles) if roles is not None else None
    loaded: list[LoadedSpec] = []
    problems: list[Problem] = []
    broken: dict[str, BrokenFile] = {}
    for path in _expand(paths):
        try:
            loaded.append(load_spec(path, roles=roles))
        except SpecError as err:
            problems.extend(err.problems)
            broken[str(path)] = BrokenFile(str(path), _declared_id(path), tuple(err.problems))
    broken_ids = {b.workflow_id: b.source for b in broken.values() if b.workflow_id}
    across = cross_file_problems(loaded, broken=broken_ids)
    if not lenient:
        problems.extend(across)
        if problems:
            raise SpecError(problems)
        return WorkflowSet(loaded)
    # a reference to a file left out is not a problem of the referring file: that file is named
    for problem in across:
        if problem.message.startswith("workflow '") and "has problems" in problem.message:
            continue
        old = broken.get(problem.file)
        broken[problem.file] = BrokenFile(
            problem.file,
            _declared_id(Path(problem.file)),
            (old.problems if old else ()) + (problem,),
        )
    kept = [item for item in loaded if item.source not in broken]
    return WorkflowSet(kept, list(broken.values()))
