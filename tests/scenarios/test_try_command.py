"""``aims try`` as a person runs it: a process that prints one URL and what to do, serves the
Jira board there, leaves ``AIMS_DATABASE_URL`` alone, shows no secret, and stops cleanly on
Ctrl-C (SIGINT) or a plain ``kill`` (SIGTERM)."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from aims_workflows.cli import main

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

URL = re.compile(r"Open (http://127\.0\.0\.1:\d+/) in your browser")
# what a leaked secret would look like: a Slack token, an Atlassian token, a long hex string
SECRET_SHAPES = re.compile(r"xoxb-|ATATT|\b[0-9a-f]{24,}\b")


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    env = {
        **os.environ,
        "AIMS_DATABASE_URL": f"sqlite:///{tmp_path / 'real.db'}",
        "AIMS_CONFIG": str(tmp_path / "real-aims.yaml"),
        "COLUMNS": "200",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from aims_workflows.cli import main; main()", "try", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def _until(lines: queue.Queue[str], pattern: re.Pattern[str], seen: list[str]) -> re.Match[str]:
    while True:
        line = lines.get(timeout=60)
        seen.append(line)
        found = pattern.search(line)
        if found:
            return found


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_aims_try_prints_the_url_and_the_script_and_stops_cleanly(tmp_path: Path, stop) -> None:
    process, lines = _start(tmp_path)
    seen: list[str] = []
    try:
        url = _until(lines, URL, seen).group(1)
        _until(lines, re.compile("Press Ctrl-C to stop"), seen)
        board = httpx.get(url, timeout=10)
        assert board.status_code == 200 and 'id="card-AIMS-1"' in board.text
        issue = httpx.get(url + "browse/AIMS-1", timeout=10)
        assert issue.status_code == 200 and "Risk title" in issue.text
        process.send_signal(stop)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    while not lines.empty():
        seen.append(lines.get())
    output = "".join(seen)
    assert "open AIMS-1" in output and "Erin Engineer" in output and "Sam Owner" in output
    assert "aims try stopped." in output and "Traceback" not in output
    assert not SECRET_SHAPES.search(output), output
    # the database named by AIMS_DATABASE_URL was never touched, nor aims.yaml written there
    assert not (tmp_path / "real.db").exists() and not (tmp_path / "real-aims.yaml").exists()
    # the temporary folder it used is gone
    folder = re.search(r"Database (\S+)/aims-try\.db", output)
    assert folder and not Path(folder.group(1)).exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=5)


def test_aims_try_keeps_its_folder_with_dir_and_refuses_one_it_did_not_make(
    tmp_path: Path, capsys
) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["try", "--dir", str(foreign)])
    assert exit_.value.code == 1
    assert "did not write" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"

    kept = tmp_path / "trial"
    process, lines = _start(tmp_path, "--dir", str(kept))
    seen: list[str] = []
    try:
        _until(lines, re.compile("Press Ctrl-C to stop"), seen)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert (kept / "aims-try.db").is_file() and (kept / "aims.yaml").is_file()
