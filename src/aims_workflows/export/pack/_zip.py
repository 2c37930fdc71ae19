"""Writing the pack: zip entries streamed in, each one's SHA-256 and size taken on the way."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, BinaryIO, TextIO

__all__ = ["PackEntry", "PackWriter"]


@dataclass(frozen=True)
class PackEntry:
    path: str
    sha256: str
    bytes: int


class _Tap(io.RawIOBase):
    """Passes bytes to the zip entry and hashes and counts them as they go."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self._target.write(view)
        self.size += len(view)
        return len(view)


class _Sink(io.RawIOBase):
    """The file the zip is written to, until :meth:`discard`: from then on writes go nowhere.

    A zip that will not be finished must still be closed (an open ``ZipFile`` writes its central
    directory when it is collected); once discarded, that last write cannot reach a file that
    is being deleted, or fail on one that is already closed.
    """

    def __init__(self, target: BinaryIO) -> None:
        self._target: BinaryIO | None = target
        self._position = 0  # where the zip thinks it is once discarded

    def discard(self) -> None:
        if self._target is not None:
            try:
                self._position = self._target.tell()
            except (OSError, ValueError):  # closed already, or a stream without positions
                self._position = 0
            self._target = None

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        size = len(memoryview(data))
        if self._target is None:
            self._position += size
            return size
        return self._target.write(data)

    def tell(self) -> int:
        return self._position if self._target is None else self._target.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self._target is None:
            if whence == io.SEEK_END:
                raise io.UnsupportedOperation("a discarded zip has no end to seek from")
            self._position = offset if whence == io.SEEK_SET else self._position + offset
            return self._position
        return self._target.seek(offset, whence)

    def flush(self) -> None:
        if self._target is not None:
            self._target.flush()


class PackWriter:
    """A zip being written: ``with pack.text("soa.csv") as out: out.write(...)``.

    Every entry carries the export's own timestamp (from the injected clock), so two exports of the
    same database at the same moment are byte-identical.
    """

    def __init__(self, fileobj: BinaryIO, when: datetime) -> None:
        self._sink = _Sink(fileobj)
        self._zip = zipfile.ZipFile(
            self._sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True
        )
        self._when = (
            max(when.year, 1980),
            when.month,
            when.day,
            when.hour,
            when.minute,
            when.second,
        )
        self.entries: list[PackEntry] = []

    @contextmanager
    def binary(self, path: str) -> Iterator[BinaryIO]:
        info = zipfile.ZipInfo(path, date_time=self._when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        # force_zip64: the ledger file may pass 4 GiB, and the size is not known in advance
        with self._zip.open(info, "w", force_zip64=True) as raw:
            tap = _Tap(raw)
            buffered = io.BufferedWriter(tap, buffer_size=1 << 16)
            yield buffered
            buffered.flush()
        self.entries.append(PackEntry(path, tap.digest.hexdigest(), tap.size))

    @contextmanager
    def text(self, path: str) -> Iterator[TextIO]:
        with self.binary(path) as raw:
            wrapper = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
            try:
                yield wrapper
            finally:
                wrapper.flush()
                wrapper.detach()

    def add(self, path: str, content: str | bytes) -> PackEntry:
        with self.binary(path) as out:
            out.write(content.encode("utf-8") if isinstance(content, str) else content)
        return self.entries[-1]

    def close(self) -> None:
        self._zip.close()

    def abandon(self) -> None:
        """Let go of a zip that will not be finished (the file is being deleted): it is closed
        with its last writes discarded, so nothing more reaches the file, now or when the zip
        is collected."""
        self._sink.discard()
        self._zip.close()
