"""``aims init --copy-workflows``: the shipped workflow files copied out for editing."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import ConfigError

__all__ = ["copy_shipped_workflows", "use_copies"]


def copy_shipped_workflows(folder: Path) -> int:
    """Copy every shipped workflow file into ``folder``; a file already there with other content
    is never overwritten (it is someone's edit). Returns how many files were copied."""
    from ..app import shipped_workflows_dir

    sources = sorted(shipped_workflows_dir().glob("*.yaml"))
    clashes = [
        folder / s.name
        for s in sources
        if (folder / s.name).exists() and (folder / s.name).read_bytes() != s.read_bytes()
    ]
    if clashes:
        raise ConfigError(
            f"{', '.join(str(c) for c in clashes)} already exist(s) with other content: "
            "not overwritten",
            hint="move them away first, or keep editing them",
        )
    folder.mkdir(parents=True, exist_ok=True)
    copied = 0
    for source in sources:
        target = folder / source.name
        if not target.exists():
            shutil.copyfile(source, target)
            copied += 1
    return copied


def use_copies(config_text: str) -> str:
    """The default aims.yaml with ``workflows: [workflows]`` in place of ``shipped``."""
    return config_text.replace("\nworkflows: shipped\n", "\nworkflows: [workflows]\n", 1)
