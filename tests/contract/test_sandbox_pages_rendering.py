"""How the sandboxes' pages turn what an app wrote into HTML: Slack's mrkdwn and Block Kit, and
Jira's Atlassian Document Format. What the app wrote is never markup, and only web links link."""

from __future__ import annotations

from aims_workflows.sandbox.jira._browser import adf_html
from aims_workflows.sandbox.slack._browser_blocks import BlockRenderer, mrkdwn


def test_mrkdwn_marks_links_and_mentions() -> None:
    # apps write Slack's entities for <, > and & that are text (Slack shows the characters)
    html = mrkdwn(
        "*Risk* is _low_, ~old~ `a&lt;b&gt;` 1 &lt; 2 &amp; "
        "<https://x.example/a?b=1&amp;c=2|the issue>"
    )
    assert "<strong>Risk</strong> is <em>low</em>, <s>old</s> <code>a&lt;b&gt;</code>" in html
    assert "1 &lt; 2 &amp; " in html
    assert '<a href="https://x.example/a?b=1&amp;c=2">the issue</a>' in html
    assert mrkdwn("hi <@U1> in <#C1|general> <!here>", {"U1": "Sam"}) == (
        'hi <span class="mention">@Sam</span> in <span class="mention">#general</span> '
        '<span class="mention">@here</span>'
    )
    assert mrkdwn("two\nlines") == "two<br>lines"


def test_what_the_app_wrote_is_never_markup() -> None:
    assert "<script>" not in mrkdwn("<script>alert(1)</script>")
    sneaky = mrkdwn("<javascript:alert(1)|click> and <a href=x>")
    assert "<a " not in sneaky and "&lt;javascript:alert(1)|click&gt;" in sneaky
    renderer = BlockRenderer("/click", {"channel": 'C1"><script>'}, {})
    button = renderer.blocks(
        [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "go",
                        "text": {"type": "plain_text", "text": "<b>"},
                    }
                ],
            }
        ]
    )
    assert "<script>" not in button and "&lt;b&gt;" in button
    assert '<input type="hidden" name="action_id" value="go">' in button
    unknown = renderer.blocks([{"type": "video", "title": "x"}])
    assert "[video block]" in unknown


def test_adf_to_html_keeps_structure_and_drops_unsafe_links() -> None:
    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 1}, "content": [{"type": "text", "text": "T"}]},
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "bold", "marks": [{"type": "strong"}]},
                    {"type": "hardBreak"},
                    {
                        "type": "text",
                        "text": "<x>",
                        "marks": [{"type": "link", "attrs": {"href": "javascript:alert(1)"}}],
                    },
                ],
            },
            {
                "type": "bulletList",
                "content": [{"type": "listItem", "content": [{"type": "text", "text": "one"}]}],
            },
        ],
    }
    assert adf_html(document) == (
        "<h3>T</h3><p><strong>bold</strong><br>&lt;x&gt;</p><ul><li>one</li></ul>"
    )
    assert adf_html("not a document") == "" and adf_html(None) == ""
