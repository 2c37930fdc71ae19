"""``aims publish policy | documents`` and the worker publishing each management review's input
pack and minutes, through atlassian-python-api against the Confluence sandbox (every exchange
held to Atlassian's v2 description), on a database the real runtime filled (SQLite and
PostgreSQL): one page per document, updated in place with a new version, never duplicated."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from confluence_site import checked_site, published, site_environment
from review_world import management_review
from test_documents import APPROVED, add
from test_export_cli import cli  # noqa: F401 - the fixture that runs `aims` in-process

from aims_workflows.config import Settings

POLICY = """# AI policy

Our AI systems serve people.

- We assess every AI system's risks before it goes live.
- We tell people when they talk to an AI system.
"""


@pytest.fixture
def site():
    yield from checked_site()


@pytest.fixture
def aims(cli, harness, db_url, site, monkeypatch):  # noqa: F811 - the imported fixture
    sandbox, _ = site
    for name, value in site_environment(sandbox).items():
        monkeypatch.setenv(name, value)
    return cli(db_url, harness.config_path)


def test_the_ai_policy_is_published_then_updated_in_place_when_a_new_version_is_approved(
    aims, harness, site, tmp_path
):
    sandbox, checked = site
    none_yet = aims("publish", "policy")
    assert none_yet.code == 1 and "holds no AI policy" in none_yet.err
    assert "aims documents add" in none_yet.err

    policy = harness.config_path.parent / "ai-policy.md"
    policy.write_text(POLICY, encoding="utf-8")
    assert add(aims, "AIMS-POL-001", "policy", "--file", str(policy), *APPROVED).code == 0
    first = aims("publish", "policy")
    assert first.code == 0, first
    page = sandbox.page_titled("AI policy - Example Ltd")
    assert page is not None and page.current.number == 1
    body = page.current.body
    ET.fromstring(f"<root>{body}</root>")  # well-formed storage XHTML
    assert "<h1>AI policy</h1>" in body and "<li>We tell people when" in body
    assert "AIMS-POL-001" in body and "tom@example.com" in body and "2027-01-04" in body
    [row] = published(harness)
    assert (row.document, row.page_id, row.version) == ("policy", page.id, 1)

    assert "unchanged" in aims("publish", "policy").out
    assert page.current.number == 1 and len(published(harness)) == 1

    # the file changes: not published until the new version is approved
    policy.write_text(POLICY + "- We keep records of every decision.\n", encoding="utf-8")
    stale = aims("publish", "policy")
    assert stale.code == 1 and "changed since version 1.0" in stale.err
    assert "aims documents review AIMS-POL-001" in stale.err
    assert page.current.number == 1
    reviewed = aims("documents", "review", "AIMS-POL-001", *APPROVED, "--version", "2.0")
    assert reviewed.code == 0, reviewed
    second = aims("publish", "policy")
    assert second.code == 0, second
    assert page.current.number == 2 and "records of every decision" in page.current.body
    assert [p.version for p in published(harness)] == [1, 2]
    assert (
        len([p for p in sandbox.state.pages.values() if p.current.title.startswith("AI policy")])
        == 1
    )
    assert checked.problems == []


def test_two_policies_need_a_reference_and_the_register_is_a_page(aims, harness, site):
    sandbox, checked = site
    assert (
        add(aims, "POL-A", "policy", "--location", "https://wiki.example.com/a", *APPROVED).code
        == 0
    )
    assert (
        add(aims, "POL-B", "policy", "--location", "https://wiki.example.com/b", *APPROVED).code
        == 0
    )
    two = aims("publish", "policy")
    assert two.code == 1 and "POL-A, POL-B" in two.err and "--reference" in two.err
    assert aims("publish", "policy", "--reference", "nope").code == 1
    chosen = aims("publish", "policy", "--reference", "pol-b")
    assert chosen.code == 0, chosen
    page = sandbox.page_titled("AI policy - Example Ltd")
    assert page is not None and "kept at https://wiki.example.com/b" in page.current.body

    register = aims("publish", "documents")
    assert register.code == 0, register
    listing = sandbox.page_titled("Register of documented information - Example Ltd")
    assert listing is not None
    assert "POL-A" in listing.current.body and "POL-B" in listing.current.body
    assert checked.problems == []


def publish_to(harness, sandbox) -> None:
    """Point the harness's app (its worker) at the sandbox's space AIMS."""
    email, token = sandbox.credentials()
    harness.app.settings = Settings(
        database_url=harness.app.settings.database_url,
        config=harness.config_path,
        confluence_url=sandbox.url,
        confluence_email=email,
        confluence_api_token=token,
        confluence_space="AIMS",
    )


def test_the_worker_publishes_each_review_record_once_on_a_page_of_its_own(harness, site):
    sandbox, checked = site
    publish_to(harness, sandbox)
    run = management_review(harness, ["Hire an auditor"])
    assert sorted(harness.app.publish_review_records()) == [
        f"created Management review input pack - Example Ltd - {run} (version 1)",
        f"created Management review minutes - Example Ltd - {run} (version 1)",
    ]
    minutes = sandbox.page_titled(f"Management review minutes - Example Ltd - {run}")
    pack = sandbox.page_titled(f"Management review input pack - Example Ltd - {run}")
    assert minutes is not None and pack is not None
    assert "One more auditor" in minutes.current.body and "tom@example.com" in minutes.current.body
    assert "New AI regulation in force" in pack.current.body
    rows = {p.document: p for p in published(harness)}
    assert rows[f"review-minutes/{run}"].page_id == minutes.id
    assert rows[f"review-minutes/{run}"].action == "created"

    # later passes, and a second process that starts reading from the first row, add nothing
    harness.app.pump()
    harness.app.review_records_seen = 0
    assert harness.app.publish_review_records() == []
    assert minutes.current.number == 1 and pack.current.number == 1
    assert {p.document for p in published(harness)} == {
        f"review-minutes/{run}",
        f"review-input-pack/{run}",
    }

    # a second review gets pages of its own; the first review's record stays as it was
    second = management_review(harness, [], review_date="2026-09-20")
    harness.app.pump()
    assert sandbox.page_titled(f"Management review minutes - Example Ltd - {second}") is not None
    assert minutes.current.number == 1
    assert checked.problems == []


def test_a_hand_edited_minutes_page_is_left_alone_and_tried_again(harness, site):
    sandbox, _ = site
    publish_to(harness, sandbox)
    run = management_review(harness, [])
    title = f"Management review minutes - Example Ltd - {run}"
    # someone wrote the page before aims got to it: aims reports it and writes nothing over it
    carla = sandbox.state.user_by_email("carla@example.com")
    assert carla is not None
    with sandbox.state.lock:
        typed = sandbox.state.create_page(
            carla.account_id, sandbox.space.id, title, "<p>Typed in the meeting.</p>", None
        )
    sandbox.edit_by_hand(typed.id, "<p>Typed in the meeting, corrected.</p>")
    done = harness.app.publish_review_records()
    assert done == [f"created Management review input pack - Example Ltd - {run} (version 1)"]
    page = sandbox.page_titled(title)
    assert page is not None and page.current.body == "<p>Typed in the meeting, corrected.</p>"
    # tried again on the next pass: once the person renames their page, aims makes its own
    assert harness.app.publish_review_records() == []
    with sandbox.state.lock:
        sandbox.state.update_page(
            carla.account_id,
            typed.id,
            title="Notes typed in the meeting",
            body=page.current.body,
            number=page.current.number + 1,
            message="",
        )
    assert harness.app.publish_review_records() == [f"created {title} (version 1)"]
    assert harness.app.publish_review_records() == []


def test_aims_worker_publishes_the_review_records(aims, harness, site):
    sandbox, checked = site
    run = management_review(harness, [])
    ran = aims("worker", "--once")
    assert ran.code == 0, ran.all
    assert sandbox.page_titled(f"Management review minutes - Example Ltd - {run}") is not None
    assert sandbox.page_titled(f"Management review input pack - Example Ltd - {run}") is not None
    assert aims("worker", "--once").code == 0
    assert len(published(harness)) == 2
    assert checked.problems == []
