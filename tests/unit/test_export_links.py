"""Text from people (a system's name, an action, an answer) never becomes a link in what aims
renders: a ``javascript:`` (or any other) URL written as a Markdown link stays plain text."""

from __future__ import annotations

import re

from review_world import management_review

from aims_workflows.export._snapshot import snapshot
from aims_workflows.export.review.gather import gather_review
from aims_workflows.export.review.period import choose_period
from aims_workflows.export.review.render import render_review
from aims_workflows.export.soa.render import _md

HOSTILE = "[Open me](javascript:alert(document.cookie))"
LINK = re.compile(r"(?<!\\)\[[^\]\\]*\]\(")  # an unescaped [text]( ... the start of a link


def test_markdown_cells_never_form_links_or_images() -> None:
    for text in (HOSTILE, "![x](http://evil.example/t.png)", "[a][ref]", "<javascript:x>"):
        cell = _md(text)
        assert not LINK.search(cell) and "<" not in cell, cell


def test_a_system_named_like_a_link_stays_text_in_review_md(harness) -> None:
    h = harness
    h.add_system(HOSTILE, owner="olga@example.com")
    management_review(h, [f"Fix {HOSTILE}"])
    with snapshot(h.db) as conn:
        period = choose_period(conn, None, None, h.clock.now())
        pack = gather_review(h.app, conn, period, now=h.clock.now())
    md = render_review(pack, "md")
    assert "javascript:" in md  # the name is shown ...
    assert not LINK.search(md)  # ... never as a link
    page = render_review(pack, "html")
    assert 'href="javascript' not in page.lower()
