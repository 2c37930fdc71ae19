"""The pack's zip writer: entries hashed on the way, and an abandoned zip writes nothing more."""

from __future__ import annotations

import gc
import hashlib
import io
import zipfile
from datetime import UTC, datetime

from aims_workflows.export.pack._zip import PackWriter

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_finished_pack_is_a_zip_with_its_entries_hashed():
    out = io.BytesIO()
    pack = PackWriter(out, WHEN)
    entry = pack.add("a.txt", "hello")
    with pack.text("b.csv") as text:
        text.write("x,y\n")
    pack.close()
    assert entry.sha256 == hashlib.sha256(b"hello").hexdigest() and entry.bytes == 5
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        assert archive.read("a.txt") == b"hello" and archive.read("b.csv") == b"x,y\n"
        assert archive.getinfo("a.txt").date_time == (2026, 3, 1, 12, 0, 0)


def test_an_abandoned_pack_writes_nothing_more_now_or_when_collected():
    out = io.BytesIO()
    pack = PackWriter(out, WHEN)
    pack.add("a.txt", "hello")
    written = out.getvalue()
    pack.abandon()
    del pack
    gc.collect()
    assert out.getvalue() == written  # no central directory: the half-made file is not a zip


def test_abandoning_after_the_file_is_closed_is_quiet():
    out = io.BytesIO()
    pack = PackWriter(out, WHEN)
    pack.add("a.txt", "hello")
    out.close()
    pack.abandon()
    del pack
    gc.collect()
