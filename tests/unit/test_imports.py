"""Imports point one way (DESIGN.md, "Layout"): the pure core imports no I/O, the product imports
no fakes, the fakes import no product, and adapters reach the database and the runtime only
through their public faces.

The static part reads every module of ``src/aims_workflows`` with ``ast`` (relative imports
resolved, imports inside functions and under ``TYPE_CHECKING`` included) and names file:line of
each import that breaks a rule. The dynamic part imports the entry modules in a fresh
interpreter and looks at ``sys.modules``, which also sees what the static walk cannot (an import
built from a string at run time).
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aims_workflows

PACKAGE = "aims_workflows"
SRC = Path(aims_workflows.__file__).resolve().parent

# engine/ and spec/ are pure: no outer layer of the product and no library that does I/O.
OUTER_LAYERS = (
    "runtime",
    "store",
    "adapters",
    "web",
    "inventory",
    "cli",
    "app",
    "demo",
    "sandbox",
    "kpi",
    "export",
    "doctor",
    "documents",
    "report",
    "findings",
    "audit",
)
IO_LIBRARIES = (
    "sqlalchemy",
    "alembic",
    "httpx",
    "requests",
    "jira",
    "atlassian",
    "slack_sdk",
    "slack_bolt",
    "starlette",
    "uvicorn",
    "psycopg",
    "socket",
    "urllib.request",
    "http.client",
    "subprocess",
)

# The only modules outside sandbox/ and demo/ that may import them: the shipped fakes module,
# and the commands that start the demo or a sandbox, which must do so inside the command
# function so that `aims --help` does not load the sandboxes.
FAKES_IMPORTERS = {"testing.py"}
FAKES_IMPORTERS_LAZY = {
    "cli/_setup.py",
    "cli/_jira.py",
    "cli/_slack.py",
    "cli/_publish.py",
    "cli/_try.py",
}

# Adapter imports of the database models still to be replaced by the runtime's public API or
# an adapter's own storage Protocol. A pair that no longer occurs fails the test too: this list
# can only shrink (it is empty: keep it so).
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()

# Names the runtime is bound to in the adapters and the web app (``runtime``, ``self.rt``,
# ``app_ctx.runtime`` ...): a ``_private`` attribute of one of them is off limits there.
RUNTIME_NAMES = {"runtime", "rt"}


@dataclass(frozen=True)
class Import:
    """One imported name: ``target`` is ``a.b`` for ``import a.b`` and ``a.b.c`` for
    ``from a.b import c`` (whether ``c`` is a module or a name in it)."""

    file: str  # relative to src/aims_workflows, with forward slashes
    line: int
    target: str
    in_function: bool

    @property
    def where(self) -> str:
        return f"src/{PACKAGE}/{self.file}:{self.line}"


def module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(path: Path, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import ...`` written in ``path``."""
    if level == 0:
        return module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    if level - 1 >= len(package):
        raise AssertionError(f"{path}: relative import beyond the top of the package")
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([module] if module else []))


class _Walker(ast.NodeVisitor):
    """Collects the imports of one file, noting whether each is inside a function."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = _rel(path)
        self.depth = 0
        self.found: list[Import] = []

    def _add(self, node: ast.stmt | ast.expr, target: str) -> None:
        self.found.append(Import(self.file, node.lineno, target, self.depth > 0))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = resolve(self.path, node.level, node.module)
        for alias in node.names:
            self._add(node, base if alias.name == "*" else f"{base}.{alias.name}")

    def visit_Call(self, node: ast.Call) -> None:
        # importlib.import_module("x") / __import__("x") with a literal name
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        first = node.args[0] if node.args else None
        if (
            name in ("import_module", "__import__")
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
        ):
            text = first.value
            level = len(text) - len(text.lstrip("."))
            self._add(node, resolve(self.path, level, text.lstrip(".") or None))
        self.generic_visit(node)


def source_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


@functools.cache
def all_imports() -> tuple[Import, ...]:
    found: list[Import] = []
    for path in source_files():
        walker = _Walker(path)
        walker.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found += walker.found
    return tuple(found)


def under(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


def product(name: str) -> str:
    return f"{PACKAGE}.{name}"


def in_area(file: str, *areas: str) -> bool:
    """``file`` is the module ``area`` (``area.py``) or inside the package ``area/``."""
    return any(file == f"{a}.py" or file.startswith(f"{a}/") for a in areas)


# -- the rules: each returns the offending part of the target, or None -----------------------
def pure_core_rule(imp: Import) -> str | None:
    if not in_area(imp.file, "engine", "spec"):
        return None
    for layer in OUTER_LAYERS:
        if under(imp.target, product(layer)):
            return product(layer)
    for library in IO_LIBRARIES:
        if under(imp.target, library):
            return library
    return None


def no_fakes_in_product_rule(imp: Import) -> str | None:
    if in_area(imp.file, "sandbox", "demo") or imp.file in FAKES_IMPORTERS:
        return None
    if imp.file in FAKES_IMPORTERS_LAZY and imp.in_function:
        return None
    for fakes in ("sandbox", "demo"):
        if under(imp.target, product(fakes)):
            return product(fakes)
    return None


def sandbox_stands_alone_rule(imp: Import) -> str | None:
    if not in_area(imp.file, "sandbox"):
        return None
    if under(imp.target, PACKAGE) and not under(imp.target, product("sandbox")):
        return imp.target
    return None


def adapter_boundary_rule(imp: Import) -> str | None:
    """Adapters use the store's and the runtime's public faces, not the tables or privates."""
    if not in_area(imp.file, "adapters"):
        return None
    parts = imp.target.split(".")
    if parts[:2] == [PACKAGE, "store"] and len(parts) > 2:
        if parts[2] == "models" or parts[2].startswith("models_"):
            return ".".join(parts[:3])
    if parts[:2] == [PACKAGE, "runtime"]:
        for i, part in enumerate(parts[2:], start=2):
            if part.startswith("_"):
                return ".".join(parts[: i + 1])
    return None


# The inventory service starts workflows, so it is built on the runtime; what the runtime stands
# on (and the record it shares with the store and the exports) must not reach back up to it.
BELOW_THE_INVENTORY_SERVICE = ("engine", "spec", "store", "runtime", "ports", "export", "kpi")
INVENTORY_SERVICE = (product("inventory.service"), product("inventory.Inventory"))


def inventory_service_rule(imp: Import) -> str | None:
    below = in_area(imp.file, *BELOW_THE_INVENTORY_SERVICE) or imp.file in (
        "inventory/model.py",
        "inventory/importer.py",
    )
    if not below:
        return None
    return next((s for s in INVENTORY_SERVICE if under(imp.target, s)), None)


def broken(rule: Callable[[Import], str | None]) -> list[tuple[Import, str]]:
    return [(imp, hit) for imp in all_imports() if (hit := rule(imp)) is not None]


def report(found: list[tuple[Import, str]], why: str) -> str:
    lines = [f"  {imp.where}: imports {imp.target} ({why})" for imp, _ in found]
    return "\n" + "\n".join(lines)


# -- the walker itself ------------------------------------------------------------------------
def test_the_walk_resolves_relative_imports_and_sees_imports_inside_functions() -> None:
    path = SRC / "adapters" / "jira" / "_example.py"
    tree = ast.parse(
        "from . import _store\n"
        "from ...store.models import Run\n"
        "import httpx\n"
        "def later():\n"
        "    from ...sandbox import BackgroundServer\n"
        "    importlib.import_module('aims_workflows.demo')\n"
    )
    walker = _Walker(path)
    walker.visit(tree)
    assert [(i.line, i.target, i.in_function) for i in walker.found] == [
        (1, "aims_workflows.adapters.jira._store", False),
        (2, "aims_workflows.store.models.Run", False),
        (3, "httpx", False),
        (5, "aims_workflows.sandbox.BackgroundServer", True),
        (6, "aims_workflows.demo", True),
    ]
    assert resolve(SRC / "engine" / "__init__.py", 1, "advance") == "aims_workflows.engine.advance"
    assert resolve(SRC / "web" / "app.py", 2, None) == "aims_workflows"


def test_the_walk_covers_every_module_of_the_package() -> None:
    files = {p.relative_to(SRC).as_posix() for p in source_files()}
    assert {"engine/advance.py", "sandbox/slack/_errors.py", "cli/_setup.py", "app.py"} <= files
    walked = {imp.file for imp in all_imports()}
    assert "engine/advance.py" in walked and "demo/jira_loopback.py" in walked


def test_a_rule_names_what_it_catches() -> None:
    def imp(file: str, target: str, in_function: bool = False) -> Import:
        return Import(file, 1, target, in_function)

    assert pure_core_rule(imp("engine/x.py", "aims_workflows.store.ledger")) == (
        "aims_workflows.store"
    )
    assert pure_core_rule(imp("spec/x.py", "urllib.request.urlopen")) == "urllib.request"
    assert pure_core_rule(imp("spec/x.py", "urllib.parse.quote")) is None
    assert pure_core_rule(imp("engine/x.py", "aims_workflows.webhooks")) is None
    assert no_fakes_in_product_rule(imp("cli/_jira.py", "aims_workflows.sandbox.jira.X")) == (
        "aims_workflows.sandbox"
    )
    assert (
        no_fakes_in_product_rule(imp("cli/_jira.py", "aims_workflows.sandbox.jira", True)) is None
    )
    assert no_fakes_in_product_rule(imp("cli/_runs.py", "aims_workflows.demo", True)) == (
        "aims_workflows.demo"
    )
    assert sandbox_stands_alone_rule(imp("sandbox/a.py", "aims_workflows.errors.AimsError"))
    assert sandbox_stands_alone_rule(imp("sandbox/a.py", "aims_workflows.sandbox._server")) is None
    assert adapter_boundary_rule(imp("adapters/a.py", "aims_workflows.runtime.core._apply")) == (
        "aims_workflows.runtime.core._apply"
    )
    assert adapter_boundary_rule(imp("adapters/a.py", "aims_workflows.runtime._x.y")) == (
        "aims_workflows.runtime._x"
    )
    assert adapter_boundary_rule(imp("adapters/a.py", "aims_workflows.store.models_jira.J")) == (
        "aims_workflows.store.models_jira"
    )
    assert adapter_boundary_rule(imp("adapters/a.py", "aims_workflows.store.ledger")) is None


# -- the rules over the package ---------------------------------------------------------------
def test_engine_and_spec_import_no_outer_layer_and_no_io_library() -> None:
    found = broken(pure_core_rule)
    assert not found, report(found, "engine/ and spec/ are pure: no outer layer, no I/O")


def test_no_production_module_imports_the_sandbox_or_the_demo() -> None:
    found = broken(no_fakes_in_product_rule)
    assert not found, report(
        found,
        "only demo/, testing.py and the demo and sandbox commands (inside the command function) "
        "may import sandbox/ or demo/",
    )


def test_the_sandbox_imports_nothing_of_the_product() -> None:
    found = broken(sandbox_stands_alone_rule)
    assert not found, report(found, "sandbox/ may use the standard library and third parties only")


def test_adapters_use_no_database_model_and_no_private_of_the_runtime() -> None:
    found = broken(adapter_boundary_rule)
    new = [(imp, hit) for imp, hit in found if (imp.file, hit) not in KNOWN_VIOLATIONS]
    assert not new, report(
        new, "adapters go through the runtime's public API, not store.models or runtime privates"
    )
    gone = KNOWN_VIOLATIONS - {(imp.file, hit) for imp, hit in found}
    assert not gone, f"no longer imported, remove from KNOWN_VIOLATIONS: {sorted(gone)}"


def test_nothing_the_inventory_service_stands_on_imports_it() -> None:
    assert inventory_service_rule(Import("runtime/x.py", 1, product("inventory.Inventory"), True))
    assert (
        inventory_service_rule(Import("store/x.py", 1, product("inventory.model.X"), False)) is None
    )
    assert inventory_service_rule(Import("app.py", 1, product("inventory.service"), False)) is None
    found = broken(inventory_service_rule)
    assert not found, report(found, "the inventory service is built on the runtime, not under it")


# -- the runtime's privates: attribute access in the adapters and the web app -----------------
@dataclass(frozen=True)
class PrivateUse:
    file: str
    line: int
    text: str


def _bound_to_runtime(node: ast.expr) -> bool:
    """``runtime``, ``rt``, or an attribute chain ending in one (``self.rt``, ``app.runtime``)."""
    if isinstance(node, ast.Name):
        return node.id in RUNTIME_NAMES
    return isinstance(node, ast.Attribute) and node.attr in RUNTIME_NAMES


def runtime_privates(tree: ast.AST, file: str) -> list[PrivateUse]:
    """Every ``<runtime>._name`` (dunders aside) in ``tree``."""
    return [
        PrivateUse(file, node.lineno, ast.unparse(node))
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and _bound_to_runtime(node.value)
    ]


def test_the_private_check_sees_runtime_privates_however_the_runtime_is_reached() -> None:
    tree = ast.parse(
        "self.rt._apply(conn, run_id, event, now)\n"
        "runtime._retrying(work)\n"
        "app_ctx.runtime._new_id()\n"
        "self.rt.receive(event)\n"
        "other._private()\n"
        "runtime.__class__\n"
    )
    assert [u.text for u in runtime_privates(tree, "x.py")] == [
        "self.rt._apply",
        "runtime._retrying",
        "app_ctx.runtime._new_id",
    ]


def test_adapters_and_the_web_app_use_no_private_of_the_runtime() -> None:
    found: list[PrivateUse] = []
    for path in source_files():
        file = _rel(path)
        if in_area(file, "adapters", "web"):
            found += runtime_privates(ast.parse(path.read_text(encoding="utf-8")), file)
    assert not found, "\n" + "\n".join(
        f"  src/{PACKAGE}/{u.file}:{u.line}: {u.text} (use the runtime's public API)" for u in found
    )


# -- what an import really loads ----------------------------------------------------------------
def loaded_after(*modules: str) -> list[str]:
    """The ``aims_workflows`` modules in ``sys.modules`` after importing ``modules`` afresh."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == {PACKAGE!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def production_modules() -> list[str]:
    """Every module of the product proper: not the fakes, not the migration scripts (run by
    Alembic) and not the stand-alone verifier that goes into audit packs."""
    skipped = ("sandbox", "demo", "testing", "store/migrations", "export/pack/templates")
    return [module_name(path) for path in source_files() if not in_area(_rel(path), *skipped)]


def test_importing_the_product_loads_no_sandbox_and_no_demo() -> None:
    modules = production_modules()
    entry = ["adapters.slack", "adapters.jira", "web", "app", "cli", "runtime", "store"]
    assert {product(name) for name in entry} <= set(modules)
    loaded = loaded_after(*modules)
    assert set(modules) <= set(loaded)
    fakes = [m for m in loaded if under(m, product("sandbox")) or under(m, product("demo"))]
    assert not fakes, f"importing the {len(modules)} modules of the product loaded {fakes}"


def test_the_sandbox_imports_on_its_own() -> None:
    everything = [module_name(path) for path in source_files() if in_area(_rel(path), "sandbox")]
    loaded = loaded_after(*everything)
    assert product("sandbox.slack") in loaded and product("sandbox.jira") in loaded
    others = [m for m in loaded if m != PACKAGE and not under(m, product("sandbox"))]
    assert not others, f"the sandbox loaded product modules: {others}"
