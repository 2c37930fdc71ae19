"""Block Kit as HTML, for the sandbox's browser pages: messages with working buttons, and modals
whose inputs post back what a person typed.

A button is a small form that posts to the page's click route with what identifies it (the
message's channel and ts, or the view's id, and the ``action_id``); the route then sends Slack's
signed ``block_actions`` request. Inputs of a modal are named ``v.<block_id>.<action_id>`` so the
submit route can rebuild ``view.state.values``. Everything the app wrote is escaped; ``mrkdwn``
gets Slack's few marks (bold, italic, strike, code, links, mentions).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

__all__ = ["BlockRenderer", "mrkdwn", "input_name"]

_LINK = re.compile(r"<([^<>]+)>")
_MARKS = (
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])"), "strong"),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])"), "em"),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])"), "s"),
)
_CODE = re.compile(r"`([^`\n]+)`")
_EMOJI = {
    ":tada:": "\N{PARTY POPPER}",
    ":white_check_mark:": "\N{WHITE HEAVY CHECK MARK}",
    ":x:": "\N{CROSS MARK}",
    ":warning:": "\N{WARNING SIGN}",
    ":hourglass:": "\N{HOURGLASS}",
}


def input_name(block_id: str, action_id: str) -> str:
    """The form name of a modal input (ids are the app's; a dot cannot confuse the split,
    because the submit route matches names against the view's own inputs)."""
    return f"v.{block_id}.{action_id}"


def _unslack(text: str) -> str:
    """Slack's three entities back to characters: apps write ``&lt;`` for a ``<`` that is not
    the start of a link, and Slack shows it as ``<``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _marks(text: str) -> Markup:
    """Escape, then Slack's inline marks; code spans keep their content as typed."""
    pieces: list[Markup] = []
    last = 0
    for match in _CODE.finditer(text):
        pieces.append(_inline(text[last : match.start()]))
        pieces.append(Markup("<code>%s</code>") % _unslack(match.group(1)))
        last = match.end()
    pieces.append(_inline(text[last:]))
    return Markup("").join(pieces)


def _inline(text: str) -> Markup:
    html = str(escape(_unslack(text)))
    for pattern, tag in _MARKS:
        html = pattern.sub(rf"<{tag}>\1</{tag}>", html)
    for code, emoji in _EMOJI.items():
        html = html.replace(code, emoji)
    return Markup(html.replace("\n", "<br>"))


def mrkdwn(text: str, names: Mapping[str, str] | None = None) -> Markup:
    """Slack's ``mrkdwn`` as HTML: ``<url|label>`` links, ``<@U…>`` people, ``<#C…|name>``
    channels, ``<!here>``; then bold, italic, strike and code."""
    names = names or {}
    pieces: list[Markup] = []
    last = 0
    for match in _LINK.finditer(text):
        pieces.append(_marks(text[last : match.start()]))
        inner = match.group(1)
        target, _, label = inner.partition("|")
        target, label = _unslack(target), _unslack(label)
        if target.startswith("@"):
            pieces.append(
                Markup('<span class="mention">@%s</span>')
                % names.get(target[1:], label or target[1:])
            )
        elif target.startswith("#"):
            pieces.append(Markup('<span class="mention">#%s</span>') % (label or target[1:]))
        elif target.startswith("!"):
            pieces.append(Markup('<span class="mention">@%s</span>') % (label or target[1:]))
        elif target.startswith(("http://", "https://", "mailto:")):
            pieces.append(Markup('<a href="%s">%s</a>') % (target, label or target))
        else:
            pieces.append(escape(match.group(0)))
        last = match.end()
    pieces.append(_marks(text[last:]))
    return Markup("").join(pieces)


class BlockRenderer:
    """Renders blocks for one person. ``hidden`` are the fields that identify where a click
    happened (message or view); ``action`` is the click route; ``people`` user id -> name."""

    def __init__(
        self,
        action: str,
        hidden: Mapping[str, str],
        people: Mapping[str, str],
        *,
        values: Mapping[str, Mapping[str, Any]] | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> None:
        self.action = action
        self.hidden = dict(hidden)
        self.people = dict(people)
        self.values = values or {}
        self.errors = errors or {}

    # -- text ----------------------------------------------------------------------------------
    def text(self, obj: Any) -> Markup:
        if isinstance(obj, str):
            return mrkdwn(obj, self.people)
        if not isinstance(obj, Mapping):
            return Markup("")
        raw = str(obj.get("text", ""))
        if obj.get("type") == "mrkdwn":
            return mrkdwn(raw, self.people)
        return Markup(str(escape(raw)).replace("\n", "<br>"))

    # -- blocks ----------------------------------------------------------------------------
    def blocks(self, blocks: list[dict[str, Any]]) -> Markup:
        return Markup("").join(self.block(b) for b in blocks if isinstance(b, Mapping))

    def block(self, block: Mapping[str, Any]) -> Markup:
        kind = block.get("type")
        render: Callable[[Mapping[str, Any]], Markup] | None = getattr(self, f"_{kind}", None)
        if render is None:
            return Markup('<div class="bk-unknown muted">[%s block]</div>') % kind
        return Markup('<div class="bk bk-%s">') % kind + render(block) + Markup("</div>")

    def _header(self, block: Mapping[str, Any]) -> Markup:
        return Markup("<h3>%s</h3>") % self.text(block.get("text"))

    def _divider(self, block: Mapping[str, Any]) -> Markup:
        return Markup("<hr>")

    def _section(self, block: Mapping[str, Any]) -> Markup:
        parts = [Markup('<div class="bk-text">%s</div>') % self.text(block.get("text"))]
        fields = block.get("fields") or []
        if fields:
            parts.append(
                Markup('<div class="bk-fields">%s</div>')
                % Markup("").join(
                    Markup('<div class="bk-field">%s</div>') % self.text(f) for f in fields
                )
            )
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping):
            parts.append(self.element(block, accessory))
        return Markup("").join(parts)

    def _context(self, block: Mapping[str, Any]) -> Markup:
        items = []
        for element in block.get("elements") or []:
            if isinstance(element, Mapping) and element.get("type") == "image":
                items.append(Markup("[%s]") % element.get("alt_text", "image"))
            else:
                items.append(self.text(element))
        return Markup('<div class="muted small">%s</div>') % Markup(" ").join(items)

    def _actions(self, block: Mapping[str, Any]) -> Markup:
        return Markup('<div class="bk-row">%s</div>') % Markup("").join(
            self.element(block, e) for e in block.get("elements") or [] if isinstance(e, Mapping)
        )

    def _image(self, block: Mapping[str, Any]) -> Markup:
        # No picture from the network: the alternative text stands in for it.
        return Markup('<div class="muted">[image: %s]</div>') % block.get("alt_text", "")

    def _input(self, block: Mapping[str, Any]) -> Markup:
        element = block.get("element") or {}
        block_id = str(block.get("block_id", ""))
        action_id = str(element.get("action_id", ""))
        name = input_name(block_id, action_id)
        optional = Markup(' <span class="muted">(optional)</span>') if block.get("optional") else ""
        label = Markup('<label class="field" for="%s">%s%s</label>') % (
            name,
            self.text(block.get("label")),
            optional,
        )
        hint = block.get("hint")
        parts = [label, self.input(element, name, self.values.get(block_id, {}).get(action_id))]
        if hint:
            parts.append(Markup('<div class="muted small">%s</div>') % self.text(hint))
        if block_id in self.errors:
            parts.append(Markup('<div class="field-error">%s</div>') % self.errors[block_id])
        return Markup("").join(parts)

    # -- interactive elements ----------------------------------------------------------------
    def element(self, block: Mapping[str, Any], element: Mapping[str, Any]) -> Markup:
        kind = element.get("type")
        if kind == "button":
            return self._button(block, element)
        if kind == "image":
            return Markup('<span class="muted">[%s]</span>') % element.get("alt_text", "image")
        if kind in ("static_select", "overflow"):
            return self._choose(element)
        return Markup('<span class="muted">[%s]</span>') % kind

    def _hidden(self, action_id: str) -> Markup:
        fields = {**self.hidden, "action_id": action_id}
        return Markup("").join(
            Markup('<input type="hidden" name="%s" value="%s">') % (k, v) for k, v in fields.items()
        )

    def _button(self, block: Mapping[str, Any], element: Mapping[str, Any]) -> Markup:
        label = self.text(element.get("text"))
        if element.get("url"):
            url = str(element["url"])
            if url.startswith(("http://", "https://")):
                return Markup('<a class="button" href="%s">%s</a>') % (url, label)
        style = {"primary": "primary", "danger": "danger"}.get(str(element.get("style")), "")
        action_id = str(element.get("action_id", ""))
        return Markup(
            '<form class="inline" method="post" action="%s">%s'
            '<button type="submit" class="%s" data-action-id="%s">%s</button></form>'
        ) % (self.action, self._hidden(action_id), style, action_id, label)

    def _choose(self, element: Mapping[str, Any]) -> Markup:
        action_id = str(element.get("action_id", ""))
        options = Markup("").join(
            Markup('<option value="%s">%s</option>')
            % (o.get("value", ""), self.text(o.get("text")))
            for o in _options(element)
        )
        return Markup(
            '<form class="inline" method="post" action="%s">%s'
            '<select name="value" style="width:auto">%s</select>'
            '<button type="submit" data-action-id="%s">Choose</button></form>'
        ) % (self.action, self._hidden(action_id), options, action_id)

    def input(self, element: Mapping[str, Any], name: str, current: Any) -> Markup:
        """The HTML input of a modal's input block, showing ``current`` (its state entry)."""
        kind = element.get("type")
        current = current or {}
        if kind == "plain_text_input":
            value = current.get("value") or element.get("initial_value") or ""
            if element.get("multiline"):
                return Markup('<textarea id="%s" name="%s">%s</textarea>') % (name, name, value)
            return Markup('<input type="text" id="%s" name="%s" value="%s">') % (name, name, value)
        if kind in ("number_input", "email_text_input", "url_text_input"):
            html_type = {"number_input": "number", "email_text_input": "email"}.get(kind, "url")
            value = current.get("value") or element.get("initial_value") or ""
            return Markup('<input type="%s" step="any" id="%s" name="%s" value="%s">') % (
                html_type,
                name,
                name,
                value,
            )
        if kind == "datepicker":
            value = current.get("selected_date") or element.get("initial_date") or ""
            return Markup('<input type="date" id="%s" name="%s" value="%s">') % (name, name, value)
        if kind in ("static_select", "radio_buttons"):
            chosen = (current.get("selected_option") or element.get("initial_option") or {}).get(
                "value"
            )
            return self._select(name, _options(element), {chosen} if chosen else set())
        if kind in ("multi_static_select", "checkboxes"):
            picked = current.get("selected_options") or element.get("initial_options") or []
            chosen = {o.get("value") for o in picked}
            return Markup('<div class="checks" id="%s">%s</div>') % (
                name,
                Markup("").join(
                    Markup('<label><input type="checkbox" name="%s" value="%s"%s> %s</label>')
                    % (
                        name,
                        o.get("value", ""),
                        Markup(" checked") if o.get("value") in chosen else "",
                        self.text(o.get("text")),
                    )
                    for o in _options(element)
                ),
            )
        if kind == "users_select":
            chosen = current.get("selected_user") or element.get("initial_user")
            people = [
                {"value": uid, "text": {"type": "plain_text", "text": n}}
                for uid, n in self.people.items()
            ]
            return self._select(name, people, {chosen} if chosen else set())
        return Markup('<span class="muted">[%s input]</span>') % kind

    def _select(self, name: str, options: Sequence[Mapping[str, Any]], chosen: set[Any]) -> Markup:
        return Markup('<select id="%s" name="%s"><option value=""></option>%s</select>') % (
            name,
            name,
            Markup("").join(
                Markup('<option value="%s"%s>%s</option>')
                % (
                    o.get("value", ""),
                    Markup(" selected") if o.get("value") in chosen else "",
                    self.text(o.get("text")),
                )
                for o in options
            ),
        )


def _options(element: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return [o for o in options if isinstance(o, Mapping)]
