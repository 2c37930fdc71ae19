"""Fixtures for the Jira sandbox contract tests: the vendor's OpenAPI description, a recorder
that validates every exchange against it, an advanceable clock, a webhook receiver, the
sandbox and a real ``jira`` client.

Imported by the test modules (``from jira_fixtures import ...``); every fixture is named
``jira_*`` so that it cannot clash with fixtures of other contract tests.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from jira import JIRA
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from werkzeug.datastructures import ImmutableMultiDict

from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.sandbox.jira import Exchange, JiraSandbox

SPEC_PATH = Path(__file__).resolve().parents[2] / "../shared/specs/jira/swagger-v3.v3.json"
SPEC_SERVER = "https://your-domain.atlassian.net"  # the spec's ``servers[0]``
WEBHOOK_SECRET = "whsec-sandbox-test"

# Statuses that Jira Cloud answers on any operation although the OpenAPI file lists them for
# few: rate limiting (429, and 503 when shedding load) is documented separately, in Atlassian's
# rate-limiting guide; 500 is what any server may answer, and 504 what Atlassian's edge answers
# when Jira is slow; 401 comes from the authentication layer before an operation is reached.
# These answers are checked for Jira's error shape.
UNDECLARED_BUT_DOCUMENTED = frozenset({401, 429, 500, 503, 504})

# Known faults of the vendor file (and two of the ``jira`` client), each a (method, path
# template, regex over the problem) triple. Every entry says why it is not a sandbox bug.
SPEC_FAULTS: list[tuple[str, str, str]] = [
    # These operations declare a JSON body for their success answer, but Jira Cloud sends
    # none (204 No Content; 201/200 with an empty body), and the jira client expects none.
    ("PUT", "/rest/api/3/issue/{issueIdOrKey}", "^response .*: MissingData"),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/transitions", "^response .*: MissingData"),
    ("POST", "/rest/api/3/issueLink", "^response .*: MissingData"),
    (
        "PUT",
        "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}",
        "^response .*: MissingData",
    ),
    # Assigning projects to a field context, and deleting one, answer 204 with no body (the
    # file declares an empty JSON schema for it), as Jira Cloud does.
    (
        "PUT",
        "/rest/api/3/field/{fieldId}/context/{contextId}/project",
        "^response .*: MissingData",
    ),
    ("DELETE", "/rest/api/3/field/{fieldId}/context/{contextId}", "^response .*: MissingData"),
    # ScreenScheme.screens is marked write-only, yet Jira Cloud returns it on GET /screenscheme
    # (the file's own example for that operation shows it): it is how a client learns which
    # screen creates, edits and views issues.
    ("GET", "/rest/api/3/screenscheme", r"/screens: Tried to read write-only property"),
    # The upload body is described as an array of Spring's MultipartFile objects (a Java
    # server type), which no multipart/form-data request can match; the real form has one
    # or more "file" parts.
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/attachments", "is not of type 'array'"),
    # jira 3.10's create_issue_link always sends "comment": null, which Jira accepts but the
    # schema (a non-nullable Comment) does not.
    ("POST", "/rest/api/3/issueLink", r"/comment: None (for not nullable|is not of type)"),
    # jira 3.10's transition_issue sends the transition id as a number; Jira accepts it.
    (
        "POST",
        "/rest/api/3/issue/{issueIdOrKey}/transitions",
        r"/transition/id: \d+ is not of type 'string'",
    ),
    # ChangeDetails declares from/fromString/to/toString as non-nullable strings, yet Jira
    # sends null for the side that has no value (a field set for the first time, a cleared
    # resolution): real changelogs are full of "from": null.
    (
        "GET",
        "/rest/api/3/issue/{issueIdOrKey}",
        r"/changelog/histories/\d+/items/\d+/(from|to)(String)?: None (for not nullable|is not)",
    ),
]

# Paths the sandbox serves that Jira Cloud has but its REST v3 description does not: the admin
# webhook API (``/rest/webhooks/1.0/webhook``, documented in Atlassian's webhooks guide). Their
# exchanges are left out of the spec check by name, and nothing else is.
OUTSIDE_SPEC = frozenset({"/rest/webhooks/1.0/webhook"})

# Jira Cloud writes timestamps as 2025-01-06T09:00:00.000+0000 (no colon in the offset), which
# is ISO 8601 but not the RFC 3339 form that the spec's ``format: date-time`` demands. The
# sandbox writes what Jira writes, so the check accepts both forms and nothing else.
_JIRA_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})")


def _is_jira_datetime(value: object) -> bool:
    if not isinstance(value, str) or not _JIRA_DATETIME.fullmatch(value):
        return False
    try:
        datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True


def _spec_dict() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


@pytest.fixture(scope="session")
def jira_spec_dict() -> dict[str, Any]:
    """The raw vendor OpenAPI document."""
    return _spec_dict()


@pytest.fixture(scope="session")
def jira_openapi(jira_spec_dict: dict[str, Any]) -> OpenAPI:
    """The vendor description, loaded once (about a second). Atlassian's file fails strict
    validation of the spec itself (a default of '' outside its enum), hence no spec validator."""
    config = Config(
        spec_validator_cls=None, extra_format_validators={"date-time": _is_jira_datetime}
    )
    return OpenAPI.from_dict(jira_spec_dict, config=config)


def _oa_request(exchange: Exchange) -> MockRequest:
    request = MockRequest(
        SPEC_SERVER,
        exchange.method,
        exchange.path,
        headers=dict(exchange.request_headers),
        data=exchange.request_body,
        content_type=exchange.request_header("content-type", "application/json"),
    )
    # MockRequest keeps one value per name; search/jql and issue GETs repeat query names.
    request.parameters.query = ImmutableMultiDict(
        parse_qsl(exchange.query_string.decode(), keep_blank_values=True)
    )
    return request


def _oa_response(exchange: Exchange) -> MockResponse:
    content_type = exchange.response_header("content-type").split(";")[0]
    return MockResponse(
        exchange.response_body,
        status_code=exchange.status,
        headers=dict(exchange.response_headers),
        content_type=content_type,
    )


@dataclass
class SpecRecorder:
    """Validates each exchange against the vendor description; keeps every problem found."""

    openapi: OpenAPI
    exchanges: list[Exchange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, exchange: Exchange) -> None:
        problems = self.check(exchange)
        with self._lock:
            self.exchanges.append(exchange)
            self.errors.extend(problems)

    def check(self, exchange: Exchange) -> list[str]:
        if exchange.path.split("?")[0] in OUTSIDE_SPEC:
            return []
        where = f"{exchange.method} {exchange.path} -> {exchange.status}"
        request, response = _oa_request(exchange), _oa_response(exchange)
        problems: list[str] = []
        result = self.openapi.unmarshal_request(request)
        problems += [f"request {where}: {p}" for e in result.errors for p in _leaves(e)]
        if exchange.status in UNDECLARED_BUT_DOCUMENTED and not self._declared(exchange):
            body = json.loads(exchange.response_body or b"{}")
            if set(body) - {"errorMessages", "errors"} or not isinstance(
                body.get("errorMessages"), list
            ):
                problems.append(f"response {where}: not Jira's error shape: {body}")
        else:
            answer = self.openapi.unmarshal_response(request, response)
            problems += [f"response {where}: {p}" for e in answer.errors for p in _leaves(e)]
        return [p for p in problems if not _known_fault(exchange, p)]

    def _declared(self, exchange: Exchange) -> bool:
        spec = self.openapi.spec
        for path, item in (spec / "paths").items():
            if _template_matches(path, exchange.path) and exchange.method.lower() in item:
                return str(exchange.status) in (item / exchange.method.lower() / "responses")
        return False


def _leaves(error: Exception) -> list[str]:
    """The individual schema violations behind an openapi-core error (or the error itself)."""
    found: list[str] = []
    for candidate in (error, getattr(error, "__cause__", None)):
        for leaf in getattr(candidate, "schema_errors", None) or []:
            path = "/".join(str(p) for p in getattr(leaf, "absolute_path", []))
            found.append(f"{type(error).__name__} at /{path}: {leaf.message}")
    return found or [f"{type(error).__name__}: {error}".split("\n")[0]]


def _template_matches(template: str, path: str) -> bool:
    left, right = template.strip("/").split("/"), path.strip("/").split("/")
    return len(left) == len(right) and all(
        a == b or (a.startswith("{") and a.endswith("}")) for a, b in zip(left, right, strict=True)
    )


def _known_fault(exchange: Exchange, problem: str) -> bool:
    return any(
        exchange.method == method
        and _template_matches(template, exchange.path)
        and re.search(pattern, problem)
        for method, template, pattern in SPEC_FAULTS
    )


class FakeClock:
    """A clock the test moves by hand; starts on a Monday morning, UTC."""

    def __init__(self, start: datetime = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class WebhookReceiver:
    """A tiny HTTP endpoint that records webhooks and answers scripted statuses."""

    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def endpoint(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        return Response(status_code=self.answers.pop(0) if self.answers else 200)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture(scope="session")
def jira_receiver_server() -> Iterator[WebhookReceiver]:
    """One receiver for the session (starting a server per test costs ~0.2 s each)."""
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/jira/webhook", receiver.endpoint, methods=["POST"])])
    with BackgroundServer(app) as server:
        receiver.url = server.url + "/jira/webhook"
        yield receiver


@pytest.fixture
def jira_receiver(jira_receiver_server: WebhookReceiver) -> WebhookReceiver:
    """The webhook receiver, emptied and answering 200 unless told otherwise."""
    jira_receiver_server.answers.clear()
    jira_receiver_server.received.clear()
    return jira_receiver_server


@pytest.fixture
def jira_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jira_spec_recorder(jira_openapi: OpenAPI) -> SpecRecorder:
    return SpecRecorder(jira_openapi)


@pytest.fixture
def jira_sandbox(
    jira_clock: FakeClock, jira_receiver: WebhookReceiver, jira_spec_recorder: SpecRecorder
) -> Iterator[JiraSandbox]:
    """A started sandbox whose every exchange is held to the vendor description: the test
    fails at teardown if any request or response did not conform."""
    sandbox = JiraSandbox(
        clock=jira_clock,
        webhook_url=jira_receiver.url,
        webhook_secret=WEBHOOK_SECRET,
        max_results_cap=2,
    )
    sandbox.observers.append(jira_spec_recorder)
    with sandbox:
        yield sandbox
    assert jira_spec_recorder.exchanges, "no request reached the sandbox"
    assert not jira_spec_recorder.errors, "\n".join(jira_spec_recorder.errors)


@pytest.fixture
def jira_client(jira_sandbox: JiraSandbox) -> JIRA:
    """The real ``jira`` client, as the adapter builds it; one retry at most."""
    return JIRA(
        server=jira_sandbox.url,
        basic_auth=jira_sandbox.credentials(),
        options={"rest_api_version": "3"},
        get_server_info=True,
        max_retries=1,
    )
