"""Writing an output *directory* so that it appears whole under its name or not at all.

The files are written into a temporary directory beside the target, which is renamed into place
at the end. An existing directory is replaced only with ``force``, and only when it holds nothing
but the files this export writes: ``--out ~/Documents --force`` must never delete anyone's papers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ExportError
from ._files import check_parent

__all__ = ["check_directory_target", "atomic_directory"]


def check_directory_target(target: Path, *, force: bool, owned: frozenset[str]) -> Path:
    """The absolute target, or an error saying how to fix it, checked before any work is done.

    ``owned`` names the files an earlier export of the same kind leaves: a directory holding
    only those may be replaced (with ``force``); an empty one may always be used.
    """
    target = Path(target).expanduser()
    if target.is_symlink():
        raise ExportError(
            f"{target} is a symbolic link", hint="give --out a directory path that is not a link"
        )
    if target.exists():
        if not target.is_dir():
            raise ExportError(
                f"{target} exists and is not a directory",
                hint="--out names a directory to write the files in",
            )
        contents = set(os.listdir(target))
        others = sorted(contents - owned)
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise ExportError(
                f"{target} holds other files ({shown})",
                hint="choose a new or empty directory for --out; it is never merged into",
            )
        if contents and not force:
            raise ExportError(
                f"{target} holds an export already",
                hint="pass --force to replace it, or choose another --out",
            )
    check_parent(target)
    return target.absolute()


@contextmanager
def atomic_directory(target: Path, *, force: bool, owned: frozenset[str]) -> Iterator[Path]:
    """A temporary directory beside ``target`` to write into; renamed to ``target`` when the block
    ends without error, removed with everything in it otherwise (an interrupt included).

    The directory is readable by its owner only (``mkdtemp``): the files name people.
    """
    target = check_directory_target(target, force=force, owned=owned)
    try:
        temp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))
    except OSError as err:
        raise ExportError(
            f"cannot write in {target.parent}: {err.strerror}", hint="choose another --out"
        ) from None
    try:
        yield temp
        _sync(temp)
        _publish(temp, target, force=force, owned=owned)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _sync(directory: Path) -> None:
    for path in directory.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(temp: Path, target: Path, *, force: bool, owned: frozenset[str]) -> None:
    # checked again: the target may have appeared or changed while the files were written
    check_directory_target(target, force=force, owned=owned)
    if not target.exists() or not any(target.iterdir()):
        try:
            # rename() replaces an empty directory and refuses a non-empty one: no overwrite
            os.rename(temp, target)
        except OSError:
            raise ExportError(
                f"{target} appeared while exporting",
                hint="pass --force to replace it, or choose another --out",
            ) from None
        return
    # an earlier export, replaced (force): set it aside,
    # put the new one in place, then delete the old
    aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, aside)
    try:
        os.rename(temp, target)
    except BaseException:
        os.rename(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)
