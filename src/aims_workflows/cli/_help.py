"""Help that reads like a manual page: plain metavars (``WORKFLOW``, ``FILE``, ``N``), never
Python types (``<list[str]>``) or Typer's braces (``{workflow}``).

Typer prints each parameter's annotation as its type; the command tree is walked once before
it runs and every parameter is given a metavar named for what a person types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.core

__all__ = ["plain_help"]

# what a person types for an option whose name says little (`--as EMAIL`, `--out FILE`)
_BY_NAME = {
    "as": "EMAIL",
    "owner": "EMAIL",
    "out": "FILE",
    "people": "FILE",
    "answers-file": "FILE",
    "since": "YYYY-MM-DD",
    "until": "YYYY-MM-DD",
    "answer": "KEY=VALUE",
    "input": "NAME=VALUE",
    "set": "FIELD=VALUE",
    "database": "URL",
    "db": "FILE",
    "run": "RUN",
    "system": "NAME",
    "kind": "KIND",
    "port": "PORT",
    "host": "HOST",
}


class _PlainArgument(typer.core.TyperArgument):
    """An argument shown by its metavar only, as Click shows it: ``WORKFLOW``, ``[PATH]...``."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return name if self.required else f"[{name}]"


def _option_metavar(param: typer.core.TyperOption) -> str | None:
    if param.is_flag or param.count:
        return None
    long_names = [n.lstrip("-") for n in param.opts if n.startswith("--")]
    for name in long_names:
        if name in _BY_NAME:
            return _BY_NAME[name]
    # Typer describes a parameter's type by its annotation (it carries its own copy of Click)
    kind = param.type_descriptor
    if kind.choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in kind.choices) + "]"
    if kind.is_path or kind.is_file:
        return "DIR" if param.type_descriptor.parameter_info.file_okay is False else "FILE"
    if kind.annotation is int:
        return "N"
    if kind.annotation is float:
        return "NUMBER"
    return (long_names[0] if long_names else param.name or "value").upper().replace("-", "_")


def _argument_metavar(param: typer.core.TyperArgument) -> str:
    name = (param.name or "value").upper().rstrip("_")
    if param.type_descriptor.is_path or name in ("PATH", "PATHS"):
        name = "FILE"
    return name + ("..." if param.nargs != 1 else "")


def _plain(command: Any) -> None:
    for param in command.params:
        if isinstance(param, typer.core.TyperOption) and param.metavar is None:
            param.metavar = _option_metavar(param)
        elif isinstance(param, typer.core.TyperArgument):
            if param.metavar is None:
                param.metavar = _argument_metavar(param)
            param.__class__ = _PlainArgument
    for sub in getattr(command, "commands", {}).values():
        _plain(sub)


def plain_help(app: Any) -> Any:
    """The Click command of the Typer ``app`` with plain metavars everywhere."""
    command = typer.main.get_command(app)
    _plain(command)
    return command


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("aims-workflows")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        from .. import __version__ as number
    return f"aims-workflows {number} ({Path(__file__).resolve().parents[1]})"
