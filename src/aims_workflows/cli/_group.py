"""How every ``aims`` command group is made.

Help is Click's plain text, not Typer's Rich panels: formatting help with Rich imports Rich's
console, markdown and traceback modules first, which costs ~0.2 s of every ``aims --help`` on a
small machine (0.3 s in all against 0.09 s plain). Command output still uses Rich, imported only
by the commands that print tables.
"""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["command_group"]


def command_group(help: str, **options: Any) -> typer.Typer:  # noqa: A002 - Typer's own name for it
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, **options)
