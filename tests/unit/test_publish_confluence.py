"""``aims publish``: the SoA, the review pack and an audit summary as Confluence pages, through
atlassian-python-api against the Confluence sandbox, every exchange held to Atlassian's v2
description; the page id and version in the ledger; hand edits reported, never overwritten."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from confluence_site import checked_site, published, site_environment
from export_world import SOA_YAML, assessed_world, use_soa

from aims_workflows.cli import _output
from aims_workflows.export.confluence import html_to_storage
from conftest import cli_environment, run_aims


@pytest.fixture
def site():
    yield from checked_site()


@pytest.fixture
def aims(monkeypatch, capsys, tmp_path, harness, answers, db_url, site):
    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch)
    use_soa(harness)
    assessed_world(harness, answers)
    sandbox, _ = site
    for name, value in {
        "AIMS_DATABASE_URL": db_url,
        "AIMS_CONFIG": str(harness.config_path),
        **site_environment(sandbox),
    }.items():
        monkeypatch.setenv(name, value)
    yield lambda *args: run_aims(capsys, *args)
    _output.console.cache_clear()
    _output.err_console.cache_clear()


def test_soa_is_created_under_the_parent_then_updated_in_place(aims, harness, site):
    sandbox, checked = site
    first = aims("publish", "soa")
    assert first.code == 0, first
    assert "created Statement of Applicability - Example Ltd (version 1" in first.out

    page = sandbox.page_titled("Statement of Applicability - Example Ltd")
    parent = sandbox.page_titled("AI management system")
    assert page is not None and parent is not None
    assert page.parent_id == parent.id
    assert "A.10.4 Meeting customer needs" in page.current.body
    [row] = published(harness)
    assert (row.document, row.page_id, row.version, row.action) == ("soa", page.id, 1, "created")
    assert row.url.endswith(f"/wiki/spaces/AIMS/pages/{page.id}")

    # nothing changed in what the SoA says: no new version, no new ledger row
    again = aims("publish", "soa")
    assert again.code == 0, again
    assert "unchanged" in again.out
    assert page.current.number == 1 and len(published(harness)) == 1

    # the organisation's decisions change: the same page gets version 2, its comment names
    # the ledger head the document was built from
    text = harness.config_path.read_text(encoding="utf-8")
    decided = SOA_YAML.replace(
        "controls:\n", "controls:\n    A.2.2: {implementation: 'Policy AI-01 on the wiki'}\n", 1
    )
    harness.config_path.write_text(text.replace(SOA_YAML, ""), encoding="utf-8")
    use_soa(harness, decided)
    updated = aims("publish", "soa")
    assert updated.code == 0, updated
    assert page.current.number == 2
    assert "Policy AI-01 on the wiki" in page.current.body
    latest = published(harness)[-1]
    assert (latest.version, latest.action) == (2, "updated")
    assert page.current.message == (
        f"[aims] built from ledger head #{latest.ledger_head_seq} {latest.ledger_head_hash[:16]}"
    )
    assert checked.problems == []


def test_a_page_edited_by_hand_is_reported_not_overwritten(aims, harness, site):
    sandbox, checked = site
    assert aims("publish", "audit-summary").code == 0
    page = sandbox.page_titled("Audit summary - Example Ltd")
    assert page is not None
    sandbox.edit_by_hand(page.id, "<p>Reviewed by Carla: see comments.</p>")
    rows_before = len(published(harness))

    refused = aims("publish", "audit-summary")
    assert refused.code == 1
    assert "was changed by hand since aims published version 1" in refused.err
    assert "--overwrite" in refused.err
    assert page.current.body == "<p>Reviewed by Carla: see comments.</p>"
    assert len(published(harness)) == rows_before

    forced = aims("publish", "audit-summary", "--overwrite")
    assert forced.code == 0, forced
    assert page.current.number == 3 and "Evidence chain" in page.current.body
    assert [p.version for p in published(harness)] == [1, 3]
    assert checked.problems == []


def test_the_review_pack_becomes_well_formed_storage(aims, site):
    sandbox, checked = site
    result = aims("publish", "review-pack")
    assert result.code == 0, result
    page = sandbox.page_titled("Management review input pack - Example Ltd")
    assert page is not None
    ET.fromstring(f"<root>{page.current.body}</root>")  # the sandbox refused it otherwise
    assert "<style" not in page.current.body and "<h1>" in page.current.body
    assert checked.problems == []


def test_unconfigured_wrong_token_and_read_only_space_each_fail_clearly(
    aims, monkeypatch, harness, site
):
    sandbox, _ = site
    monkeypatch.delenv("AIMS_CONFLUENCE_SPACE")
    missing = aims("publish", "soa")
    assert missing.code == 1 and "AIMS_CONFLUENCE_SPACE not set" in missing.err

    monkeypatch.setenv("AIMS_CONFLUENCE_SPACE", "AIMS")
    monkeypatch.setenv("AIMS_CONFLUENCE_API_TOKEN", "not-the-token-1234")
    wrong = aims("publish", "soa")
    assert wrong.code == 1 and "HTTP 401" in wrong.err and "API token" in wrong.err
    assert "not-the-token-1234" not in wrong.err + wrong.out

    monkeypatch.setenv("AIMS_CONFLUENCE_SPACE", "NOPE")
    monkeypatch.setenv("AIMS_CONFLUENCE_API_TOKEN", sandbox.credentials()[1])
    nospace = aims("publish", "soa")
    assert nospace.code == 1 and "no space 'NOPE'" in nospace.err
    assert published(harness) == []


def test_an_account_that_may_not_write_gets_the_permission_hint(
    monkeypatch, capsys, tmp_path, harness, answers, db_url
):
    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch)
    for sandbox, checked in checked_site(read_only=["aims-bot@example.com"]):
        email, token = sandbox.credentials()
        for name, value in {
            "AIMS_DATABASE_URL": db_url,
            "AIMS_CONFIG": str(harness.config_path),
            "AIMS_CONFLUENCE_URL": sandbox.url + "/wiki",
            "AIMS_CONFLUENCE_EMAIL": email,
            "AIMS_CONFLUENCE_API_TOKEN": token,
            "AIMS_CONFLUENCE_SPACE": "AIMS",
        }.items():
            monkeypatch.setenv(name, value)
        result = run_aims(capsys, "publish", "soa")
        assert result.code == 1
        assert "HTTP 404" in result.err and "permission to add pages" in result.err
        assert sandbox.page_titled("Statement of Applicability - Example Ltd") is None
        assert checked.problems == []
    _output.console.cache_clear()
    _output.err_console.cache_clear()


def test_storage_keeps_structure_and_drops_what_confluence_would_refuse():
    html = (
        "<!DOCTYPE html><html><head><style>p{}</style><title>x</title></head><body>"
        "<h1 class='t'>Pack</h1><p>one<p>two &amp; <a href='javascript:alert(1)'>bad</a>"
        "<a href='https://example.com/x?a=1&b=2'>good</a><br><table><tr><td>c</td></tr></table>"
        "<div><span>kept text</span></div><script>alert(2)</script></body></html>"
    )
    storage = html_to_storage(html)
    ET.fromstring(f"<root>{storage}</root>")
    assert storage.startswith("<h1>Pack</h1><p>one</p><p>two &amp; <a>bad</a>")
    assert '<a href="https://example.com/x?a=1&amp;b=2">good</a><br />' in storage
    assert "kept text" in storage and "alert" not in storage and "p{}" not in storage
