"""`aims worker` waits out short database problems with back-off instead of exiting: the SQLite
write lock held by another process for 15 s, PostgreSQL refusing connections for 5 s. Waiting is
injected: the test's sleeper counts the seconds and ends the outage when they are up."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from aims_workflows.errors import DatabaseUnavailable
from aims_workflows.inventory import AISystemRecord
from aims_workflows.runtime import worker_loop
from aims_workflows.runtime.worker_loop import Waits, WorkerLoop
from aims_workflows.store import Database
from conftest import cli_environment, run_aims

HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("released", flush=True)
"""


class LockHolder:
    """Another process holding the SQLite write lock until told to let go."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "released"
        self.proc.wait(timeout=30)


class Outage:
    """An injected sleeper: ``end()`` is called once ``seconds`` have been slept."""

    def __init__(self, seconds: float, end) -> None:
        self.seconds, self.end = seconds, end
        self.slept = 0.0
        self.over = False

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        if not self.over and self.slept >= self.seconds:
            self.over = True
            self.end()


def _count(db: Database, sql: str) -> int:
    with db.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def test_the_worker_waits_out_a_sqlite_lock_held_15_s_by_another_process(
    make_harness, tmp_path, clock
):
    path = tmp_path / "aims.db"
    url = f"sqlite:///{path}?timeout=0.1"  # SQLite's own wait per try: short, for the test
    Database(url).upgrade()
    h = make_harness(url, tmp_path, clock)
    h.app.inventory.add(AISystemRecord(name="Chatbot", owner="olga@example.com"))
    queued = _count(h.db, "SELECT count(*) FROM outbox WHERE status = 'pending'")
    holder = LockHolder(path)
    outage = Outage(15, holder.release)
    loop = WorkerLoop(h.app.pump, sleep=outage.sleep)
    assert loop.run(once=True) == 1
    print(f"\nSQLite lock held 15 s: waited {loop.waited} s, then carried out {queued} commands")
    assert loop.waited == [1, 2, 4, 8] and outage.over
    assert _count(h.db, "SELECT count(*) FROM outbox WHERE status <> 'done'") == 0
    assert len(h.tracker.performed) >= 2
    h.db.dispose()


def test_aims_worker_once_waits_for_the_lock_instead_of_exiting(
    monkeypatch, capsys, tmp_path, roles
):
    path = tmp_path / "aims.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{path}?timeout=0.1")
    monkeypatch.setenv("AIMS_CONFIG", str(tmp_path / "aims.yaml"))
    cli_environment(monkeypatch)
    assert run_aims(capsys, "init").code == 0
    assert run_aims(capsys, "systems", "add", "Chatbot", "--owner", "olga@example.com").code == 0
    holder = LockHolder(path)
    outage = Outage(15, holder.release)

    class InjectedTime:
        sleep = staticmethod(outage.sleep)

    monkeypatch.setattr(worker_loop, "time", InjectedTime)
    result = run_aims(capsys, "worker", "--once")
    assert result.code == 0, result
    assert "database unavailable" in result.err and "trying again in 8 s" in result.err
    assert outage.over


class Proxy:
    """A TCP port in front of PostgreSQL that can refuse connections (as a server restarting
    does) and come back on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Stop listening (new connections are refused) and cut every connection."""
        if self._listener is not None:
            try:  # wakes the accepting thread; close alone would leave the port listening
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass


@pytest.mark.postgres
def test_the_worker_waits_out_postgresql_refusing_connections_for_5_s(
    make_harness, pg_url, tmp_path, clock
):
    from sqlalchemy.engine import make_url

    Database(pg_url).upgrade()
    server = make_url(pg_url)
    proxy = Proxy((server.host or "127.0.0.1", server.port or 5432))
    proxy.up()
    url = server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    h = make_harness(url, tmp_path, clock)
    h.app.inventory.add(AISystemRecord(name="Chatbot", owner="olga@example.com"))
    proxy.down()  # the server goes away between two passes
    with pytest.raises(DatabaseUnavailable):
        h.app.pump()  # what made `aims worker` exit
    outage = Outage(5, proxy.up)
    loop = WorkerLoop(h.app.pump, sleep=outage.sleep, waits=Waits(first=1, cap=30))
    assert loop.run(once=True) == 1
    print(f"\nPostgreSQL refusing connections for 5 s: waited {loop.waited} s, then went on")
    assert loop.waited == [1, 2, 4] and outage.over
    assert _count(h.db, "SELECT count(*) FROM outbox WHERE status <> 'done'") == 0
    h.db.dispose()
    proxy.down()


def test_a_long_outage_ends_a_single_pass_with_the_error_and_the_loop_goes_on():
    calls = {"n": 0}

    def never() -> None:
        calls["n"] += 1
        raise DatabaseUnavailable("database x is not reachable: connection refused")

    slept: list[float] = []
    loop = WorkerLoop(never, sleep=slept.append, waits=Waits(first=1, cap=4, give_up_after=10))
    with pytest.raises(DatabaseUnavailable):
        loop.run(once=True)
    assert loop.waited == [1, 2, 4]  # 7 s waited; one more 4 s wait would pass 10 s
    loop.waited.clear()
    assert loop.run(passes=2) == 2  # the running worker logs it and keeps going
    assert slept == [1, 2, 4] + [1, 2, 4, 5.0, 1, 2, 4]  # with the pause between passes


def test_a_bug_is_not_waited_out():
    def buggy() -> None:
        raise KeyError("fields")

    loop = WorkerLoop(buggy, sleep=lambda s: None)
    with pytest.raises(KeyError):
        loop.run()
    assert loop.waited == []
