"""Help reads like a manual page: every command's help shows plain metavars (WORKFLOW, FILE,
EMAIL), never Python types or Typer's braces; ``aims --version`` says what is installed."""

from __future__ import annotations

import re

import pytest

from aims_workflows import __version__
from aims_workflows.cli import app
from aims_workflows.cli._help import plain_help
from conftest import run_aims


def _commands(command, path=()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(plain_help(app)))

# `<list[str]>`, `<str>`, `<path>`, `<int range>`, `{workflow}` ...
PYTHON_TYPES = re.compile(r"<(?:list\[|str|int|float|path|file|bool|Path)[^>]*>|\{[a-z_]+\}")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "aims")
def test_help_shows_plain_metavars(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    result = run_aims(capsys, *command, "--help")
    assert result.code == 0, result
    assert not PYTHON_TYPES.findall(result.out), result.out


def test_help_names_what_people_type(capsys):
    start = run_aims(capsys, "start", "--help").out
    assert "Usage: aims start [OPTIONS] WORKFLOW" in start
    assert "--system NAME" in start and "--input NAME=VALUE" in start
    complete = run_aims(capsys, "tasks", "complete", "--help").out
    assert "--as EMAIL" in complete and "--answer KEY=VALUE" in complete
    assert "validate [OPTIONS] [FILE...]\n" in run_aims(capsys, "validate", "--help").out


def test_version(capsys):
    result = run_aims(capsys, "--version")
    assert result.code == 0
    assert result.out.startswith(f"aims-workflows {__version__} (")
