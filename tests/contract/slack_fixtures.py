"""Fixtures for the Slack sandbox contract tests.

* ``SlackSpec`` checks every Web API answer against Slack's own description of it
  (``../shared/specs/slack/slack_web_openapi_v2.json``, Swagger 2.0) with ``jsonschema``
  Draft 4 and a ``referencing`` registry, after an explicit list of overrides for the file's
  known faults (``SPEC_OVERRIDES``; each one says why).
* ``SpecCheckMiddleware`` runs that check inside the sandbox's HTTP app and records failures;
  the ``slack`` fixture fails the test if any answer did not match.
* ``Receiver`` stands in for the app: it verifies Slack's signature with slack_sdk's own
  ``SignatureVerifier``, records what arrives and answers as the test scripts it.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from slack_sdk.signature import Clock as VerifierClock
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.sandbox.slack import SlackSandbox

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SLACK_SPECS = PROJECT_ROOT / ".." / "shared" / "specs" / "slack"
WEB_API_SPEC = SLACK_SPECS / "slack_web_openapi_v2.json"
EVENT_WRAPPER_SCHEMA = SLACK_SPECS / "slack_common_event_wrapper_schema.json"
SPEC_URI = "urn:slack:web-api"


# --- the spec and its overrides ---------------------------------------------------------------


@dataclass(frozen=True)
class SpecOverride:
    """One correction to the vendor file: what is wrong with it, and the fix."""

    name: str
    why: str
    apply: Callable[[dict[str, Any]], None]


def _items_union_to_any_of(node: Any) -> None:
    # The file writes unions as ``"items": [A, B]`` on schemas that have no ``type: array``.
    # Draft 4 applies ``items`` to arrays only, so for an object or string it checks nothing:
    # every user, conversation and nullable ``bot_id`` would pass unchecked. ``anyOf`` is
    # what the authors meant; the fix makes validation stricter, not looser.
    if isinstance(node, dict):
        items = node.get("items")
        if isinstance(items, list) and node.get("type") != "array":
            node.pop("items")
            node["anyOf"] = items
        for value in node.values():
            _items_union_to_any_of(value)
    elif isinstance(node, list):
        for value in node:
            _items_union_to_any_of(value)


# The ``view`` object that views.open/push/update/publish return, written from the examples
# in the same file's ``responses['200'].examples`` (their schemas only declare ``ok``).
VIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "team_id",
        "type",
        "blocks",
        "private_metadata",
        "callback_id",
        "state",
        "hash",
        "root_view_id",
        "app_id",
        "bot_id",
    ],
    "properties": {
        "id": {"type": "string", "pattern": "^V[A-Z0-9]{8,}$"},
        "team_id": {"$ref": "#/definitions/defs_team"},
        "type": {"enum": ["modal", "home"]},
        "blocks": {"$ref": "#/definitions/blocks"},
        "private_metadata": {"type": "string"},
        "callback_id": {"type": "string"},
        "external_id": {"type": "string"},
        "state": {
            "type": "object",
            "required": ["values"],
            "properties": {"values": {"type": "object"}},
        },
        "hash": {"type": "string", "pattern": r"^\d+\.[0-9a-z]+$"},
        "title": {"type": ["object", "null"]},
        "submit": {"type": ["object", "null"]},
        "close": {"type": ["object", "null"]},
        "clear_on_close": {"type": "boolean"},
        "notify_on_close": {"type": "boolean"},
        "previous_view_id": {"type": ["string", "null"]},
        "root_view_id": {"type": ["string", "null"]},
        "app_id": {"$ref": "#/definitions/defs_app_id"},
        "app_installed_team_id": {"$ref": "#/definitions/defs_team"},
        "bot_id": {"$ref": "#/definitions/defs_bot_id"},
    },
}


def _views_return_view(spec: dict[str, Any]) -> None:
    for method in ("views.open", "views.push", "views.update", "views.publish"):
        for operation in spec["paths"][f"/{method}"].values():
            schema = operation["responses"]["200"]["schema"]
            schema["properties"]["view"] = {"$ref": "#/definitions/sandbox_view"}
            schema["required"] = ["ok", "view"]
    spec["definitions"]["sandbox_view"] = VIEW_SCHEMA


def _message_app_id(spec: dict[str, Any]) -> None:
    # Messages posted by an app carry ``app_id`` today; objs_message forbids extra keys.
    spec["definitions"]["objs_message"]["properties"]["app_id"] = {
        "$ref": "#/definitions/defs_app_id"
    }


def _chat_update_blocks_array(spec: dict[str, Any]) -> None:
    # chat.update declares ``message.blocks`` as an object; blocks are an array everywhere
    # else in the file (``#/definitions/blocks``) and in every real answer.
    message = spec["paths"]["/chat.update"]["post"]["responses"]["200"]["schema"]["properties"][
        "message"
    ]
    message["properties"]["blocks"] = {"$ref": "#/definitions/blocks"}


# Error codes today's method documentation lists but the 2020 enums lack. "*" applies to
# every method: request-level errors that the file lists for some methods only.
ERRORS_MISSING_FROM_SPEC: dict[str, list[str]] = {
    "*": [
        "ratelimited",
        "invalid_arguments",
        "invalid_json",
        "json_not_object",
        "invalid_form_data",
        "not_authed",
        "invalid_auth",
    ],
    "chat.postMessage": ["invalid_blocks"],
    "chat.update": ["invalid_blocks"],
    "chat.postEphemeral": ["invalid_blocks"],
}


def _error_enums_and_details(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            schema = operation.get("responses", {}).get("default", {}).get("schema", {})
            enum = schema.get("properties", {}).get("error", {}).get("enum")
            if enum is None:
                continue
            for code in ERRORS_MISSING_FROM_SPEC["*"] + ERRORS_MISSING_FROM_SPEC.get(path[1:], []):
                if code not in enum:
                    enum.append(code)
            # Slack explains invalid_blocks / invalid_arguments in these two keys, which the
            # error schemas (additionalProperties: false) do not declare.
            schema["properties"]["errors"] = {"type": "array", "items": {"type": "string"}}
            schema["properties"]["response_metadata"] = {
                "type": "object",
                "properties": {"messages": {"type": "array", "items": {"type": "string"}}},
            }


def _apps_connections_open(spec: dict[str, Any]) -> None:
    # Socket Mode came after the file was written: apps.connections.open, as Slack's method
    # page describes it (app-level token; answers ok and a one-time WebSocket URL).
    spec["paths"]["/apps.connections.open"] = {
        "post": {
            "operationId": "apps_connections_open",
            "responses": {
                "200": {
                    "schema": {
                        "type": "object",
                        "required": ["ok", "url"],
                        "additionalProperties": False,
                        "properties": {
                            "ok": {"enum": [True]},
                            "url": {"type": "string", "pattern": "^wss?://"},
                        },
                    }
                },
                "default": {
                    "schema": {
                        "type": "object",
                        "required": ["ok", "error"],
                        "properties": {
                            "ok": {"enum": [False]},
                            "error": {
                                "enum": [
                                    "not_authed",
                                    "invalid_auth",
                                    "not_allowed_token_type",
                                    "account_inactive",
                                    "ratelimited",
                                ]
                            },
                        },
                    }
                },
            },
        }
    }


def _history_pages(spec: dict[str, Any]) -> None:
    schema = spec["paths"]["/conversations.history"]["get"]["responses"]["200"]["schema"]
    schema["properties"]["messages"].pop("minItems", None)
    schema["properties"]["response_metadata"] = {
        "type": "object",
        "properties": {"next_cursor": {"type": "string"}},
    }
    error = spec["paths"]["/conversations.history"]["get"]["responses"]["default"]["schema"]
    for code in ("not_in_channel", "invalid_cursor", "invalid_limit"):
        if code not in error["properties"]["error"]["enum"]:
            error["properties"]["error"]["enum"].append(code)


SPEC_OVERRIDES: list[SpecOverride] = [
    SpecOverride(
        "items-union-as-anyOf",
        "unions written as items:[A,B] on non-arrays check nothing under Draft 4",
        _items_union_to_any_of,
    ),
    SpecOverride(
        "views-return-view",
        "views.* 200 schemas declare only ok; the real answers (and the file's own examples) "
        "carry view",
        _views_return_view,
    ),
    SpecOverride(
        "message-app-id",
        "objs_message has additionalProperties:false but app messages carry app_id",
        _message_app_id,
    ),
    SpecOverride(
        "chat-update-blocks-array",
        "chat.update declares message.blocks as an object; it is an array",
        _chat_update_blocks_array,
    ),
    SpecOverride(
        "error-codes-since-2020",
        "error enums predate invalid_blocks, ratelimited...; error schemas lack the errors / "
        "response_metadata details Slack sends with them",
        _error_enums_and_details,
    ),
    SpecOverride(
        "apps-connections-open",
        "the file predates Socket Mode and lacks apps.connections.open",
        _apps_connections_open,
    ),
    SpecOverride(
        "history-pages",
        "conversations.history: an empty channel answers messages: [] (the file says minItems "
        "1), pages carry response_metadata.next_cursor (undeclared, though the file's own "
        "example has it), and not_in_channel / invalid_cursor / invalid_limit are answered",
        _history_pages,
    ),
]
"""Every deviation from the vendor file. Not overridden, on purpose:

* the GET-only / POST-only declarations: they describe requests, and only answers are checked
  here; the sandbox accepts GET or POST, form or JSON for every method, as Slack does
  (``test_every_served_method_is_in_the_spec`` pins the method names);
* the strict ID patterns (``^B[A-Z0-9]{8,}$``...): the sandbox mints IDs that satisfy them.
"""


@lru_cache(maxsize=2)
def load_web_api_spec(overridden: bool = True) -> dict[str, Any]:
    """The vendor file, with ``SPEC_OVERRIDES`` applied unless ``overridden`` is False."""
    spec = json.loads(WEB_API_SPEC.read_text(encoding="utf-8"))
    if overridden:
        for override in SPEC_OVERRIDES:
            override.apply(spec)
    return spec


class SlackSpec:
    """Validates Web API answers against the spec's ``responses['200'|'default']`` schemas."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT4)
        self.registry: Registry = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[tuple[str, str], Draft4Validator] = {}

    def operation(self, method: str) -> tuple[str, dict[str, Any]]:
        """The (HTTP verb, operation) the file declares for a Web API method."""
        operations = self.spec["paths"].get(f"/{method}")
        if not operations:
            raise KeyError(f"{method} is not in the Slack Web API spec")
        verb, operation = next(iter(operations.items()))
        return verb, operation

    def validator(self, method: str, outcome: str) -> Draft4Validator:
        key = (method, outcome)
        if key not in self._validators:
            verb, _ = self.operation(method)
            pointer = f"/paths/~1{method}/{verb}/responses/{outcome}/schema"
            self._validators[key] = Draft4Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"},
                registry=self.registry,
                format_checker=Draft4Validator.FORMAT_CHECKER,
            )
        return self._validators[key]

    def problems(self, method: str, body: Any) -> list[str]:
        """Every way ``body`` differs from what the spec says ``method`` answers."""
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            return [f"{method}: answer is not a Slack envelope: {body!r}"]
        outcome = "200" if body["ok"] else "default"
        return [
            f"{method} ({outcome}) at /{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in self.validator(method, outcome).iter_errors(body)
        ]


@lru_cache(maxsize=1)
def slack_spec() -> SlackSpec:
    """The overridden spec, loaded once per test run (the file is 1.5 MB)."""
    return SlackSpec(load_web_api_spec(True))


class SpecCheckMiddleware:
    """ASGI middleware: checks each ``/api/<method>`` answer against the spec as it leaves.

    Failures go to ``failures`` rather than raising, so the app under test sees exactly what
    the sandbox sent and the test fails afterwards with every mismatch listed.
    """

    def __init__(self, app: Any, spec: SlackSpec, failures: list[str], checked: list[str]):
        self.app = app
        self.spec = spec
        self.failures = failures
        self.checked = checked

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        method = path[len("/api/") :]
        chunks: list[bytes] = []
        status: list[int] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._check(method, status[0] if status else 0, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    def _check(self, method: str, status: int, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            self.failures.append(f"{method}: answer is not JSON: {raw[:200]!r}")
            return
        if body.get("error") == "unknown_method":
            return  # not a method of the spec, by definition
        self.checked.append(method)
        self.failures.extend(f"HTTP {status} {p}" for p in self.spec.problems(method, body))


# --- clocks -------------------------------------------------------------------------------


class ShiftableClock:
    """Real time plus an offset the test controls: signatures stay verifiable by a receiver
    on the real clock, while ``shift(-360)`` sends requests "six minutes old" and
    ``shift(4)`` lets a trigger id expire, without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def shift(self, seconds: float) -> None:
        self.offset += seconds


# --- the receiver (a stand-in for the app) ---------------------------------------------------


@dataclass
class Received:
    """One request Slack (the sandbox) sent to the app."""

    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON inside the single ``payload`` form field of interaction requests."""
        return json.loads(self.form["payload"])


@dataclass
class Answer:
    """What the receiver answers: status, JSON or text body, extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> Response:
        if self.body is None:
            content, media_type = b"", "text/plain"
        elif isinstance(self.body, str):
            content, media_type = self.body.encode(), "text/plain"
        else:
            content, media_type = json.dumps(self.body).encode(), "application/json"
        return Response(
            content, status_code=self.status, media_type=media_type, headers=self.headers
        )


class Receiver:
    """A tiny app at ``/slack/events``: verifies the v0 signature (401 when wrong), records
    the request, then answers the next scripted ``Answer`` or what ``handler`` returns.

    ``handler`` runs on a worker thread, so it may call the sandbox's Web API (e.g. open a
    modal with the trigger id it just received) before answering, as a real app does.
    """

    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret, clock=VerifierClock())
        self.received: list[Received] = []
        self.answers: deque[Answer] = deque()
        self.handler: Callable[[Received], Answer | None] | None = None
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/slack/events", self._endpoint, methods=["POST"])])
        self.server = BackgroundServer(app)

    @property
    def url(self) -> str:
        return self.server.url + "/slack/events"

    def reset(self) -> None:
        """Forget requests, scripted answers and the handler (between tests)."""
        with self._lock:
            self.received.clear()
            self.answers.clear()
            self.handler = None

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with these, in order (then 200 with an empty body)."""
        self.answers.extend(answers)

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        if dict(parse_qsl(body.decode("utf-8", "replace"))).get("ssl_check") == "1":
            return Response(status_code=200)  # Slack's unsigned certificate check: answer 200

        received = Received(
            path=request.url.path,
            headers=headers,
            body=body,
            signature_ok=self.verifier.is_valid_request(body, headers),
        )
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            received.form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        elif content_type.startswith("application/json"):
            received.json = json.loads(body)
        with self._lock:
            self.received.append(received)
        if not received.signature_ok:
            return Response("invalid signature", status_code=401)
        answer = await run_in_threadpool(self._answer_for, received)
        return answer.to_response()

    def _answer_for(self, received: Received) -> Answer:
        if self.handler is not None:
            answer = self.handler(received)
            if answer is not None:
                return answer
        with self._lock:
            return self.answers.popleft() if self.answers else Answer()


# --- pytest fixtures ------------------------------------------------------------------------

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture(scope="module")
def _receiver_server() -> Iterator[Receiver]:
    # One receiver per module: starting and stopping a server costs about 0.2 s each time.
    app = Receiver(SIGNING_SECRET)
    with app.server:
        yield app


@pytest.fixture
def receiver(_receiver_server: Receiver) -> Iterator[Receiver]:
    _receiver_server.reset()
    yield _receiver_server
    _receiver_server.reset()


@dataclass
class SpecRecord:
    """What the spec middleware saw during one test."""

    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


@pytest.fixture
def spec_record() -> SpecRecord:
    return SpecRecord()


def make_sandbox(record: SpecRecord, **kwargs: Any) -> SlackSandbox:
    """A sandbox whose every Web API answer is checked against the (overridden) spec."""
    middleware = [
        Middleware(
            SpecCheckMiddleware, spec=slack_spec(), failures=record.failures, checked=record.checked
        )
    ]
    kwargs.setdefault("signing_secret", SIGNING_SECRET)
    return SlackSandbox(middleware=middleware, **kwargs)


@pytest.fixture
def slack(
    receiver: Receiver, clock: ShiftableClock, spec_record: SpecRecord
) -> Iterator[SlackSandbox]:
    """A running sandbox that sends to ``receiver``; the test fails on any answer that does
    not match the Slack spec."""
    sandbox = make_sandbox(spec_record, app_url=receiver.url, clock=clock)
    with sandbox:
        yield sandbox
    assert not spec_record.failures, "answers that do not match the Slack spec:\n" + "\n".join(
        spec_record.failures
    )


def event_wrapper_schema() -> dict[str, Any]:
    """Slack's JSON Schema (draft 7) for the Events API envelope."""
    return json.loads(EVENT_WRAPPER_SCHEMA.read_text(encoding="utf-8"))


def raw_copy(spec: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, for tests that must not touch the cached spec."""
    return copy.deepcopy(spec)
