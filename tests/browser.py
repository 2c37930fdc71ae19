"""A real headless Chromium for the tests, driven over the DevTools protocol.

Debian's ``chromium`` is used (Playwright's own browser builds cannot be downloaded here). The
``browser`` fixture finds it, installs it with apt when running as root and it is missing, and
otherwise skips the test with the reason shown. One browser process serves the session; each
test opens its own page (a tab) and closes it.

    def test_x(browser, artefacts):
        with browser.page(width=800) as page:
            page.goto("file:///tmp/report.html")
            assert page.errors == []                       # console errors, exceptions, CSP ...
            page.evaluate("document.title")
            page.screenshot(artefacts / "x-800.png")

The protocol is JSON over one websocket (the synchronous client of ``websockets``, already a
dependency): the browser's endpoint comes from the ``DevToolsActivePort`` file Chromium writes in
its profile directory, a page is a target attached with ``flatten`` so its commands and events
carry a session id.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["Browser", "Page", "find_chromium", "artefacts_dir", "ARTEFACTS_ENV"]

ARTEFACTS_ENV = "AIMS_TEST_ARTEFACTS"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 30.0
"""Seconds a page load or a protocol answer may take (a busy two-core machine is slow)."""


class BrowserError(RuntimeError):
    pass


def find_chromium(install: bool = True) -> tuple[str | None, str]:
    """The browser's path, or None and why there is none. Installs Debian's ``chromium`` with
    apt when missing and this process is root (CI and the developer machines run as root)."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found, ""
    if not install:
        return None, "no Chromium on PATH"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None, (
            "no Chromium on PATH and not root, so it cannot be installed here: "
            "`apt-get install chromium` to run the browser tests"
        )
    done = subprocess.run(
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
        shell=True,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    found = shutil.which("chromium")
    if found:
        return found, ""
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return None, "apt-get install chromium failed: " + " / ".join(tail)


def artefacts_dir(fallback: Path) -> Path:
    """Where screenshots go: ``$AIMS_TEST_ARTEFACTS`` if set (kept after the run), else
    ``fallback`` (the test's tmp_path). The path is printed so a person can open the files."""
    chosen = Path(os.environ.get(ARTEFACTS_ENV) or fallback)
    chosen.mkdir(parents=True, exist_ok=True)
    print(f"browser screenshots: {chosen}")
    return chosen


class _Connection:
    """One websocket to the browser: numbered commands, answers matched by id, events queued."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        # no Origin header (Chromium refuses unknown origins); screenshots exceed the 1 MiB default
        self._stack = ExitStack()  # websockets wants its connection used as a context manager
        self._ws = self._stack.enter_context(connect(url, open_timeout=TIMEOUT, max_size=None))
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            answer = self._receive()
            if answer.get("id") == message["id"]:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})

    def _receive(self) -> dict[str, Any]:
        answer = json.loads(self._ws.recv(timeout=TIMEOUT))
        if "method" in answer:
            self.events.append(answer)
        return answer

    def wait_for(self, method: str, session: str, since: int, timeout: float = TIMEOUT) -> None:
        """Until an event ``method`` of ``session`` arrives (looking from ``events[since:]``)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[since:]:
                if event["method"] == method and event.get("sessionId") == session:
                    return
            if time.monotonic() > deadline:
                raise BrowserError(f"no {method} within {timeout:.0f} s")
            self._receive()

    def close(self) -> None:
        self._stack.close()


class Page:
    """One tab. ``errors`` lists every console error, uncaught exception and browser log error
    (a blocked resource, a CSP violation, a failed load) since the page was opened."""

    def __init__(self, conn: _Connection, session: str, target: str) -> None:
        self.conn, self.session, self.target = conn, session, target
        self._first_event = len(conn.events)

    def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.conn.send(method, params, self.session)

    def goto(self, url: str) -> None:
        since = len(self.conn.events)
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"could not open {url}: {result['errorText']}")
        self.conn.wait_for("Page.loadEventFired", self.session, since)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    # -- acting as a person: each helper finds the element as a person would (by its label or
    # its text) and fires the events a real click or keystroke fires, so forms submit for real
    def wait_until(self, expression: str, what: str, timeout: float = TIMEOUT) -> Any:
        """The value of ``expression`` once it is truthy (the page may reload meanwhile)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:  # the document was replaced mid-evaluation
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"{what} did not appear within {timeout:.0f} s")
            time.sleep(0.05)  # polling the page's DOM, not waiting out a time limit

    def click(self, selector: str, *, text: str | None = None) -> None:
        """Click the element ``selector`` matches (the one whose text contains ``text``) and
        wait for the page it leads to."""
        since = len(self.conn.events)
        found = self.evaluate(
            f"(() => {{ const all = [...document.querySelectorAll({json.dumps(selector)})];"
            f" const el = all.find(e => {json.dumps(text)} === null"
            f" || e.innerText.includes({json.dumps(text)}));"
            " if (!el) return false; el.click(); return true; })()"
        )
        if not found:
            raise BrowserError(f"nothing to click at {selector!r} with text {text!r}")
        self.conn.wait_for("Page.loadEventFired", self.session, since)

    def _control(self, label: str) -> str:
        """JavaScript for the form control whose label reads exactly ``label``."""
        return (
            "[...document.querySelectorAll('label')]"
            f".filter(l => l.innerText.trim() === {json.dumps(label)})"
            ".map(l => l.control || document.getElementById(l.htmlFor))[0]"
        )

    def fill(self, label: str, value: str) -> None:
        done = self.evaluate(
            f"(() => {{ const el = {self._control(label)}; if (!el) return false;"
            f" el.value = {json.dumps(value)};"
            " el.dispatchEvent(new Event('input', {bubbles: true}));"
            " el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
        )
        if not done:
            raise BrowserError(f"no field labelled {label!r}")

    def check(self, label: str) -> None:
        done = self.evaluate(
            f"(() => {{ const el = {self._control(label)}; if (!el) return false;"
            " el.checked = true; el.dispatchEvent(new Event('change', {bubbles: true}));"
            " return true; })()"
        )
        if not done:
            raise BrowserError(f"no box labelled {label!r}")

    def select(self, control: str, option: str) -> None:
        """Choose the option reading ``option`` in the select ``control`` (a CSS selector, or
        the text of its label)."""
        finder = (
            f"document.querySelector({json.dumps(control)})"
            if control.startswith(("#", "."))
            else self._control(control)
        )
        done = self.evaluate(
            f"(() => {{ const el = {finder}; if (!el) return false;"
            f" const o = [...el.options].find(o => o.text.trim() === {json.dumps(option)});"
            " if (!o) return false; el.value = o.value;"
            " el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
        )
        if not done:
            raise BrowserError(f"no option {option!r} in {control!r}")

    def type_into(self, selector: str, value: str) -> None:
        done = self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            f" if (!el) return false; el.value = {json.dumps(value)}; return true; }})()"
        )
        if not done:
            raise BrowserError(f"nothing to type into at {selector!r}")

    def text(self, selector: str) -> str:
        value = self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " return el ? el.innerText : null; })()"
        )
        if value is None:
            raise BrowserError(f"no element {selector!r}")
        return str(value)

    def set_width(self, width: int, height: int = 900) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            width = self.evaluate("document.documentElement.clientWidth")
            height = self.evaluate("document.documentElement.scrollHeight")
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    @property
    def errors(self) -> list[str]:
        found = []
        for event in self.conn.events[self._first_event :]:
            if event.get("sessionId") != self.session:
                continue
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(
                    "console: "
                    + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                )
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(f"exception: {details.get('text')} {details.get('exception', {})}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                found.append(
                    f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}"
                )
        return found


class Browser:
    """A headless Chromium process with a throwaway profile."""

    def __init__(self, executable: str) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="aims-chromium-"))
        self.process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",  # root in a container: Chromium's sandbox needs user namespaces
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--font-render-hinting=none",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",  # any free port, written to DevToolsActivePort
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            self.conn = _Connection(self._endpoint())
        except BaseException:
            self.close()
            raise

    def _endpoint(self) -> str:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise BrowserError(f"chromium exited ({self.process.returncode}): {err[-500:]}")
            lines = marker.read_text().split() if marker.exists() else []
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)  # polling a file the browser writes at start-up, not a time test
        raise BrowserError(f"chromium wrote no DevToolsActivePort within {TIMEOUT:.0f} s")

    @contextmanager
    def page(self, width: int = 1400, height: int = 900) -> Iterator[Page]:
        target = self.conn.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.conn.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self.conn, session, target)
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.set_width(width, height)
        try:
            yield page
        finally:
            self.conn.send("Target.closeTarget", {"targetId": target})

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            try:
                conn.send("Browser.close")
            except Exception:  # noqa: BLE001 - the process is ended below whatever happened
                pass
            conn.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """The session's headless Chromium (skipped, with the reason, where there is none)."""
    pytest.importorskip("websockets.sync.client", reason="the browser tests need websockets")
    executable, why = find_chromium()
    if executable is None:
        pytest.skip(f"browser tests skipped: {why}")
    started = Browser(executable)
    yield started
    started.close()


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    return artefacts_dir(tmp_path)
