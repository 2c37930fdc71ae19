"""Confluence's storage format: well-formed XHTML with a limited set of elements.

:func:`html_to_storage` turns one of aims' own HTML renderings (the review pack) into a page
body: the ``<body>`` content only, styles and scripts dropped, elements outside a plain
document vocabulary unwrapped (their text kept), every attribute but ``href`` on links dropped,
void elements closed and text escaped. :func:`element` builds small bodies directly.
"""

from __future__ import annotations

from html.parser import HTMLParser
from xml.sax.saxutils import escape, quoteattr

__all__ = ["element", "html_to_storage"]

_KEPT = frozenset(
    {
        "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "table",
        "thead", "tbody", "tr", "th", "td", "strong", "em", "b", "i", "code", "pre",
        "blockquote", "a", "sub", "sup",
    }
)  # fmt: skip
_VOID = frozenset({"br", "hr"})
_DROPPED_WITH_CONTENT = frozenset({"style", "script", "head", "title"})
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
# HTML ends an open paragraph when one of these starts (a <p> cannot hold them); XHTML needs
# the end tag written.
_CLOSES_P = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "pre", "blockquote", "hr"}
)


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self.skipping += 1
            return
        if self.skipping:
            return
        if tag in _CLOSES_P or tag == "div":
            self._close("p")
        if tag == "li":
            self._close("li", within=("ul", "ol"))
        if tag not in _KEPT:
            return
        if tag in _VOID:
            self.out.append(f"<{tag} />")
            return
        attributes = ""
        if tag == "a":
            href = dict(attrs).get("href") or ""
            # a link from data people typed must not run script when someone clicks it
            if href.lower().startswith(_SAFE_SCHEMES):
                attributes = f" href={quoteattr(href)}"
        self.out.append(f"<{tag}{attributes}>")
        self.open.append(tag)

    def _close(self, tag: str, within: tuple[str, ...] = ()) -> None:
        """End an open ``tag`` that HTML would end implicitly, with what is open inside it."""
        for inner in reversed(self.open):
            if inner == tag:
                break
            if inner in within or inner in ("table", "ul", "ol", "blockquote"):
                return  # the open element belongs to an outer structure: leave it
        else:
            return
        while self.open:
            inner = self.open.pop()
            self.out.append(f"</{inner}>")
            if inner == tag:
                return

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID and not self.skipping:
            self.out.append(f"<{tag} />")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag not in _KEPT or tag in _VOID or tag not in self.open:
            return
        # close whatever the HTML left open inside this element (HTML allows <p> without </p>)
        while self.open:
            inner = self.open.pop()
            self.out.append(f"</{inner}>")
            if inner == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(escape(data))

    def result(self) -> str:
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        return "".join(self.out).strip()


def html_to_storage(html_text: str) -> str:
    """A storage-format body carrying the text and structure of ``html_text``."""
    converter = _Converter()
    converter.feed(html_text)
    converter.close()
    return converter.result()


def element(tag: str, *children: str, text: str | None = None) -> str:
    """``<tag>`` around already-built children, or around ``text`` escaped."""
    inner = escape(text) if text is not None else "".join(children)
    return f"<{tag}>{inner}</{tag}>"
