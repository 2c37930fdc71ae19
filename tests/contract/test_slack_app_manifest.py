"""The Slack app manifest: well formed, the least scopes for the methods the app calls, and the
URLs, slash command, event and Home tab the app serves."""

from __future__ import annotations

import ast
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "integrations" / "slack" / "manifest.yaml"
SOCKET_MANIFEST = ROOT / "integrations" / "slack" / "manifest-socket-mode.yaml"
ADAPTERS = ROOT / "src" / "aims_workflows" / "adapters"
# the Slack adapter, and the witness that posts checkpoints to a channel and reads them back
SLACK_CALLERS = [*(ADAPTERS / "slack").glob("*.py"), ADAPTERS / "witness.py"]

# What each Web API method the adapter calls needs (Slack's method documentation).
SCOPE_OF: dict[str, str | tuple[str, ...] | None] = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "conversations_open": "im:write",
    # the witness reads its checkpoints in a channel; a post cut short is looked up in the
    # channel (public or private) or a DM
    "conversations_history": ("channels:history", "groups:history", "im:history"),
    # a channel set by #name is resolved to its ID (public or private)
    "conversations_list": ("channels:read", "groups:read"),
    "users_info": "users:read",
    "users_list": "users:read",
    "users_lookupByEmail": "users:read.email",
    "views_open": None,
    "views_publish": None,
    "views_update": None,  # views.* need no scope: the trigger id or view id is the grant
    # a Socket Mode frame acknowledging an envelope, not a Web API method: it travels on the
    # socket the app-level token (connections:write) opened
    "send_socket_mode_response": None,
}


def manifest(path: Path = MANIFEST) -> dict:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def called_methods() -> set[str]:
    """Every ``client.<method>(...)`` in the adapter's source."""
    found: set[str] = set()
    for path in SLACK_CALLERS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, (ast.Name, ast.Attribute))
            ):
                owner = (
                    node.func.value.attr
                    if isinstance(node.func.value, ast.Attribute)
                    else node.func.value.id
                )
                if owner in ("client", "_client") and "_" in node.func.attr:
                    found.add(node.func.attr)
    return found


def test_manifest_has_the_parts_slack_requires() -> None:
    m = manifest()
    assert m["_metadata"]["major_version"] == 1
    assert 0 < len(m["display_information"]["name"]) <= 35
    assert len(m["display_information"]["description"]) <= 140
    assert 174 <= len(m["display_information"]["long_description"]) <= 4000
    assert m["features"]["bot_user"]["display_name"]


def test_scopes_are_exactly_what_the_called_methods_need() -> None:
    methods = called_methods()
    assert methods, "no Web API calls found in the adapter"
    unknown = methods - set(SCOPE_OF)
    assert not unknown, f"add the scopes of {unknown} to SCOPE_OF and the manifest"
    needed = {"commands"}
    for method in methods:
        scopes = SCOPE_OF[method]
        needed |= {scopes} if isinstance(scopes, str) else set(scopes or ())
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed
    assert "user" not in manifest()["oauth_config"]["scopes"]  # no user token


def test_every_url_is_the_one_route_the_app_serves() -> None:
    from aims_workflows.adapters.slack import EVENTS_PATH

    m = manifest()
    urls = [
        m["settings"]["interactivity"]["request_url"],
        m["settings"]["event_subscriptions"]["request_url"],
    ]
    urls += [c["url"] for c in m["features"]["slash_commands"]]
    assert all(u.startswith("https://") and u.endswith(EVENTS_PATH) for u in urls)
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["socket_mode_enabled"] is False


def test_slash_command_event_and_home_tab() -> None:
    m = manifest()
    assert [c["command"] for c in m["features"]["slash_commands"]] == ["/aims"]
    assert m["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert m["features"]["app_home"]["home_tab_enabled"] is True


def test_the_socket_mode_manifest_is_the_same_app_without_request_urls() -> None:
    http, socket = manifest(), manifest(SOCKET_MANIFEST)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert http["settings"]["socket_mode_enabled"] is False
    assert "request_url" not in socket["settings"]["interactivity"]
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    assert all("url" not in c for c in socket["features"]["slash_commands"])
    assert socket["oauth_config"] == http["oauth_config"]
    assert socket["display_information"] == http["display_information"]
