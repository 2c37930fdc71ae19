"""The write gate: one writer at a time on SQLite, urgent writers first, every ``Database.begin``
through it, and the Jira inbox processor on the same gate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from aims_workflows.adapters.jira._inbound import InboxProcessor
from aims_workflows.errors import StoreError
from aims_workflows.store import Database
from aims_workflows.store.write_gate import NoGate, WriteGate


def _until(condition: Callable[[], bool]) -> None:
    """Let the other threads run until ``condition`` holds (they only have to reach a wait)."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the other threads never got there"
        time.sleep(0)  # yield the interpreter, no timed wait


def _writer(gate: WriteGate, kind: str, order: list[str], name: str) -> threading.Thread:
    def write() -> None:
        with getattr(gate, kind)():
            order.append(name)

    thread = threading.Thread(target=write, name=name)
    thread.start()
    return thread


def test_queued_urgent_writers_go_before_queued_background_writers():
    gate, order = WriteGate(), []
    with gate.background():
        background = _writer(gate, "background", order, "background")
        _until(lambda: gate.waiting == 1)
        urgent = _writer(gate, "urgent", order, "urgent")
        _until(lambda: gate.waiting == 2)
        order.append("first")
    urgent.join()
    background.join()
    assert order == ["first", "urgent", "background"]


def test_the_thread_holding_the_gate_may_take_it_again():
    gate = WriteGate(wait_seconds=0)
    with gate.urgent(), gate.background(), gate.urgent():
        pass
    with gate.background():  # and it was released once the outermost block ended
        pass


def test_a_writer_that_waits_too_long_gets_a_store_error():
    gate, held, release, caught = (
        WriteGate(wait_seconds=0),
        threading.Event(),
        threading.Event(),
        [],
    )

    def hold() -> None:
        with gate.background():
            held.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    try:
        with pytest.raises(StoreError) as err, gate.urgent():
            pass
        caught.append(str(err.value))
    finally:
        release.set()
        holder.join()
    assert caught == [
        "the database stayed busy with another write for 0 s (a write is taking too long; "
        "try again, and check the logs for a stuck worker)"
    ]
    assert gate.waiting == 0


def test_every_database_on_one_sqlite_file_shares_one_gate(tmp_path: Path):
    one, two = Database(f"sqlite:///{tmp_path / 'a.db'}"), Database(f"sqlite:///{tmp_path}/a.db")
    other = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        assert isinstance(one.gate, WriteGate)
        assert one.gate is two.gate
        assert other.gate is not one.gate
    finally:
        for db in (one, two, other):
            db.dispose()


def test_a_write_transaction_holds_the_gate_until_it_commits(database: Database):
    if database.dialect != "sqlite":
        assert isinstance(database.gate, NoGate)
        return
    order: list[str] = []
    with database.begin():
        other = _writer(database.gate, "urgent", order, "other writer")
        _until(lambda: database.gate.waiting == 1)
        order.append("transaction")
    other.join()
    assert order == ["transaction", "other writer"]
    with database.connect():  # reads take no part in it
        assert database.gate.waiting == 0


def test_an_urgent_transaction_may_open_inside_the_gate_it_took(database: Database):
    with database.gate.urgent(), database.begin(urgent=True) as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_the_jira_inbox_processor_queues_on_the_database_gate(database: Database):
    processor = InboxProcessor(SimpleNamespace(db=database), tracker=None)
    assert processor.gate is database.gate
