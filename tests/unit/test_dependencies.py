"""The package declares what it imports, and imports no other package's private modules.

Every third-party import in ``src/`` is read from the source (lazy imports inside functions too)
and matched to the distribution that provides it in this environment; the distributions are
compared with ``[project.dependencies]`` in pyproject.toml. An import that only an optional
extra provides must be guarded (inside ``try: ... except ImportError``), so the package still
works without the extra.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "aims_workflows"
OWN = "aims_workflows"

# Declared but never imported by name: each with the text in src/ that shows it is used.
USED_INDIRECTLY = {
    "psycopg": "postgresql+psycopg",  # the driver SQLAlchemy loads for PostgreSQL URLs
    "websockets": "WebSocketRoute",  # uvicorn serves the Slack sandbox's Socket Mode with it
}


@dataclass(frozen=True)
class Imported:
    module: str  # the dotted name, e.g. "slack_sdk.errors"
    where: str  # file:line
    guarded: bool  # inside a try whose handlers catch ImportError


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert found, f"cannot read the distribution name of {requirement!r}"
    return normalise(found.group(0))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type
    names = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
    return any(
        isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names
    )


def _imports_of(path: Path, root: Path = ROOT) -> list[Imported]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Imported] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.Try):
            catches = any(_catches_import_error(h) for h in node.handlers)
            for child in node.body:
                visit(child, guarded or catches)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guarded)
            return
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found.extend(Imported(alias.name, where, guarded) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(Imported(node.module, where, guarded))
            # `from package import _private` reaches into a package just the same
            found.extend(
                Imported(f"{node.module}.{alias.name}", where, guarded)
                for alias in node.names
                if alias.name.startswith("_")
            )
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


@cache
def all_imports() -> tuple[Imported, ...]:
    return tuple(i for path in sorted(PACKAGE.rglob("*.py")) for i in _imports_of(path))


def third_party_imports() -> list[Imported]:
    return [
        i
        for i in all_imports()
        if i.module.split(".")[0] not in sys.stdlib_module_names and i.module.split(".")[0] != OWN
    ]


@cache
def _providers() -> dict[str, list[str]]:
    return packages_distributions()


def distribution_of(module: str) -> str:
    top = module.split(".")[0]
    candidates = _providers().get(top) or []
    assert candidates, (
        f"no installed distribution provides '{top}': install the package with its extras "
        "(pip install -e '.[test,bench,oscal]')"
    )
    # a namespace shared by several distributions: the one named like the dotted module
    dotted = normalise(module)
    named = [c for c in candidates if dotted.startswith(normalise(c))]
    return normalise((named or candidates)[0])


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared() -> set[str]:
    return {requirement_name(r) for r in project()["dependencies"]}


def declared_extras() -> set[str]:
    extras = project().get("optional-dependencies", {})
    return {requirement_name(r) for reqs in extras.values() for r in reqs}


# -- the tests ----------------------------------------------------------------------------------
def test_the_import_walk_sees_lazy_guarded_and_private_imports(tmp_path):
    sample = tmp_path / "src" / "aims_workflows" / "sample.py"
    sample.parent.mkdir(parents=True)
    sample.write_text(
        "import jira\n"
        "def later():\n"
        "    import requests.adapters\n"
        "    try:\n"
        "        from trestle.oscal import catalog\n"
        "    except (OSError, ImportError):\n"
        "        import httpx\n"
        "from typer import _click\n"
    )
    seen = {(i.module, i.guarded) for i in _imports_of(sample, tmp_path)}
    assert seen == {
        ("jira", False),
        ("requests.adapters", False),
        ("trestle.oscal", True),
        ("httpx", False),  # the handler is not guarded by its own try
        ("typer", False),
        ("typer._click", False),
    }


def test_every_import_is_a_declared_dependency():
    runtime, extras = declared(), declared_extras()
    missing = []
    for imported in third_party_imports():
        dist = distribution_of(imported.module)
        if dist in runtime:
            continue
        if imported.guarded and dist in extras:
            continue  # an optional extra, and the package copes without it
        where = "an optional extra, but the import is not guarded" if dist in extras else ""
        missing.append(f"{imported.where}: {imported.module} ({dist}) {where}".rstrip())
    assert not missing, "imported but not in [project.dependencies]:\n" + "\n".join(missing)


def test_every_dependency_is_used():
    imported = {distribution_of(i.module) for i in third_party_imports()}
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    unused = []
    for dist in sorted(declared() - imported):
        evidence = USED_INDIRECTLY.get(dist)
        if evidence is None or evidence not in source:
            unused.append(dist)
    assert not unused, f"declared in [project.dependencies] but used nowhere in src/: {unused}"


def test_every_requirement_has_a_lower_bound():
    requirements = list(project()["dependencies"])
    for reqs in project().get("optional-dependencies", {}).values():
        requirements += reqs
    unbounded = [r for r in requirements if ">=" not in r and "==" not in r and "~=" not in r]
    assert not unbounded, f"give these a lower bound (>=): {unbounded}"


def test_no_private_module_of_another_package_is_imported():
    private = [
        f"{i.where}: {i.module}"
        for i in all_imports()
        if i.module.split(".")[0] != OWN
        and any(part.startswith("_") and not part.startswith("__") for part in i.module.split("."))
    ]
    assert not private, "private modules of other packages:\n" + "\n".join(private)
