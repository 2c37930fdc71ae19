"""The stack behind ``aims try``, driven over HTTP as a browser would (no browser needed): what a
person sees when the engine refuses their answers, and what stays out of the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from aims_workflows.demo.try_it import TryStack
from aims_workflows.store import Database, ledger


def _wait_for(client: httpx.Client, path: str, text: str, tries: int = 3000) -> str:
    """The page once it shows ``text``: the engine answers through the webhook and the worker,
    asynchronously; the wait is bounded by a number of page loads, not by a timer."""
    for _ in range(tries):
        page = client.get(path, timeout=10).text
        if text in page:
            return page
    raise AssertionError(f"{path} never showed {text!r}")


def test_done_with_answers_missing_comes_back_with_the_reasons_on_the_issue_page(
    tmp_path: Path,
) -> None:
    # the worker thread carries out the refusal comment: keep its passes short for the test
    with TryStack(tmp_path / "try", worker_interval=0.05) as stack:
        assert stack.jira is not None
        erin = stack.jira.user("erin.engineer@example.com")
        with httpx.Client(base_url=stack.jira.url, follow_redirects=True) as client:
            client.post("/session", data={"account": erin.account_id, "next": "/"})
            moved = client.post("/browse/AIMS-1", data={"status": "10001"})
            assert moved.status_code == 200 and "Saved." in moved.text
            page = _wait_for(client, "/browse/AIMS-1", "Some answers are missing")
            assert "Risk title: an answer is required." in page
            # the engine moves it back, so the person fills it in and moves it to Done again
            _wait_for(client, "/browse/AIMS-1", 'id="status-now">To Do<')
        url = stack.database_url
    db = Database(url)
    try:
        with db.connect() as conn:
            rows = list(ledger.iter_rows(conn))
    finally:
        db.dispose()
    [refused] = [r for r in rows if r.kind == "task.answers_refused"]
    assert refused.actor == "erin.engineer@example.com" and refused.via == "jira"
    assert "Risk title: an answer is required." in json.loads(refused.payload)["problems"]
    assert not [r for r in rows if r.kind == "task.completed"]
