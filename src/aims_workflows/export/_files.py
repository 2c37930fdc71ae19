"""Writing an output file so that it either appears whole under its name or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..errors import ExportError

__all__ = ["check_parent", "check_target", "atomic_output", "write_text_atomic"]


def check_parent(target: Path) -> Path:
    """The directory ``target`` goes in, or an error saying why nothing can be written there."""
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise ExportError(
            f"cannot write {target}: the directory {parent} does not exist",
            hint="create it or choose another --out",
        )
    if not parent.is_dir():
        raise ExportError(
            f"cannot write {target}: {parent} is not a directory", hint="choose another --out"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(
            f"cannot write {target}: no permission to write in {parent}",
            hint="choose another --out",
        )
    return parent


def check_target(target: Path, *, force: bool) -> Path:
    """The absolute target path, or an error that says how to fix it, checked before any work."""
    target = Path(target).expanduser()
    if target.is_dir():
        raise ExportError(
            f"{target} is a directory", hint="give a file name, e.g. --out audit-pack.zip"
        )
    check_parent(target)
    if (target.exists() or target.is_symlink()) and not force:
        raise ExportError(
            f"{target} exists already", hint="pass --force to replace it, or choose another --out"
        )
    return target.absolute()


@contextmanager
def atomic_output(target: Path, *, force: bool) -> Iterator[BinaryIO]:
    """A temporary file next to ``target``, renamed to it only when the block ends without error.

    An interrupted or failed export leaves nothing under the final name and removes its temporary
    file. The file is readable by its owner only (``mkstemp``): a pack names people and systems.
    Without ``force`` an existing file is never replaced, even one that appeared meanwhile.
    """
    target = check_target(target, force=force)
    try:
        fd, temp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as err:
        raise ExportError(
            f"cannot write in {target.parent}: {err.strerror}", hint="choose another --out"
        ) from None
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w+b") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        _publish(temp, target, force=force)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _publish(temp: Path, target: Path, *, force: bool) -> None:
    if force:
        os.replace(temp, target)
        return
    try:
        # a hard link fails if the name was taken in the meantime: no silent overwrite
        os.link(temp, target)
    except FileExistsError:
        raise ExportError(
            f"{target} appeared while exporting",
            hint="pass --force to replace it, or choose another --out",
        ) from None
    except OSError:
        # file systems without hard links: check, then rename
        # (a narrow race, no worse than the check above)
        if target.exists():
            raise ExportError(
                f"{target} exists already", hint="pass --force to replace it"
            ) from None
        os.replace(temp, target)
        return
    temp.unlink()


def write_text_atomic(target: Path, text: str, *, force: bool) -> None:
    with atomic_output(target, force=force) as out:
        out.write(text.encode("utf-8"))
