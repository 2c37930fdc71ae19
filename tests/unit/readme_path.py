"""README's "Using it for real" section as a script: its commands in order, what a person
types in place of ``$EDITOR``, and the ids a person copies from one command into the next.

Imported by the tests that run that path in a fresh directory (``from readme_path import ...``),
in-process and against an installed wheel."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

# what the person fills in when README says `$EDITOR answers.yaml`
ANSWERS = {
    "risk_title": "Biased scores for younger applicants",
    "risk_description": "Bureau-history features act as proxies for age",
    "risk_sources": "[bias_fairness, data_quality]",
    "affected_parties": "loan applicants",
    "likelihood": "3",
    "impact": "4",
    "rating_rationale": "disparate impact ratio 0.74 on the last validation set",
}


@dataclass(frozen=True)
class Step:
    line: str
    """The line as README shows it."""
    argv: list[str]
    """``aims`` and its arguments (placeholders still in), or ``$EDITOR FILE``."""
    redirect: str | None = None
    """``> FILE``: stdout goes to this file."""


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Using it for real")
    end = text.index("\n## ", start + 1)
    sub = text.find("\n### ", start)
    return text[start : sub if 0 < sub < end else end]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), flags=re.S)


def steps() -> list[Step]:
    found = []
    for block in blocks("sh"):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if not argv:
                continue
            redirect = None
            if ">" in argv:
                at = argv.index(">")
                argv, redirect = argv[:at], argv[at + 1]
            found.append(Step(line, argv, redirect))
    return found


def inventory_csv() -> str:
    (csv,) = blocks("csv")
    return csv


def fill_answers(path: Path) -> None:
    """What the person types into the answers file ``--template`` wrote."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key = line.split(":", 1)[0]
        if not line.startswith("#") and key in ANSWERS:
            line = f"{key}: {ANSWERS[key]}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def placeholders(argv: list[str], ids: dict[str, str]) -> list[str]:
    return [ids.get(arg, arg) for arg in argv]
