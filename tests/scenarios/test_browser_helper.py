"""The browser helper itself (tests/browser.py): it must see what the page tests rely on it to see,
or their "no console error" checks could never fail."""

from __future__ import annotations

from urllib.parse import quote

from browser import artefacts, browser  # noqa: F401 - fixtures

BROKEN = """<!doctype html><title>broken</title>
<img src="http://127.0.0.1:9/missing.png">
<script>console.error("boom", 42); console.log("fine"); undefinedFunction();</script>
<p style="width:1200px">wide</p>"""


def test_console_errors_exceptions_and_failed_loads_are_reported(browser, artefacts):
    with browser.page(width=800) as page:
        page.goto("data:text/html," + quote(BROKEN))
        errors = page.errors
        assert page.evaluate("document.title") == "broken"
        assert page.evaluate("document.documentElement.scrollWidth") > 800
        shot = page.screenshot(artefacts / "broken-800.png")
    assert any(e.startswith("console: boom 42") for e in errors), errors
    assert any(e.startswith("exception:") and "undefinedFunction" in e for e in errors), errors
    assert any("missing.png" in e for e in errors), errors
    assert not any(e.startswith("console: fine") for e in errors)  # a log is not an error
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_clean_page_reports_nothing(browser):
    with browser.page(width=1400) as page:
        page.goto("data:text/html," + quote("<!doctype html><title>ok</title><p>ok</p>"))
        assert page.errors == []
        assert page.evaluate("document.documentElement.clientWidth") == 1400
