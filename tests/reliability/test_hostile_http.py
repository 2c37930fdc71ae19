"""Hostile and malformed HTTP input to every endpoint of ``aims serve``: each answer is a 4xx
with a one-line reason (never a 500, never a traceback), and a request that fails verification
writes nothing. The fuzzing is driven by the service's own OpenAPI description."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from hostile_world import SIGNING_SECRET, hostile_world  # noqa: E402
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401
from test_jira_and_slack_e2e import World  # noqa: E402

from aims_workflows.sandbox.slack import signed_headers  # noqa: E402
from aims_workflows.store.models import Evidence, InboxItem, OutboxItem, Run  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture(scope="module")
def world(tmp_path_factory, jira_openapi) -> Iterator[World]:  # noqa: F811
    from aims_workflows.store import Database

    tmp = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{tmp / 'aims.db'}"
    Database(url).upgrade()
    with hostile_world(url, tmp, SpecRecorder(jira_openapi), "ai-risk-assessment") as w:
        yield w


def counts(world: World) -> tuple[int, ...]:
    with world.app.db.connect() as conn:
        return tuple(
            int(conn.scalar(select(func.count()).select_from(t.__table__)) or 0)
            for t in (Evidence, InboxItem, OutboxItem, Run)
        )


def jira_signature(world: World, body: bytes) -> str:
    secret = world.app.jira.webhook_secret.encode()
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def jira_post(world: World, body: bytes) -> httpx.Response:
    headers = {"Content-Type": JSON, "X-Hub-Signature": jira_signature(world, body)}
    return httpx.post(world.web_url + "/jira/webhook", content=body, headers=headers, timeout=30)


def slack_post(world: World, body: bytes, content_type: str = FORM) -> httpx.Response:
    headers = {"Content-Type": content_type}
    headers.update(signed_headers(SIGNING_SECRET, int(time.time()), body))
    return httpx.post(world.web_url + "/slack/events", content=body, headers=headers, timeout=30)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def payload_form(payload: object) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return urlencode({"payload": text}).encode()


def submission(view: dict) -> bytes:
    base = {"id": "V1", "type": "modal", "callback_id": "aims_reason", "state": {"values": {}}}
    return payload_form({"type": "view_submission", "user": {"id": "U1"}, "view": base | view})


def one_line_answer(answer: httpx.Response) -> str:
    """The answer's reason (the JSON error, or an HTML error page's title); no traceback."""
    assert "Traceback" not in answer.text and 'File "' not in answer.text, answer.text[:300]
    kind = answer.headers.get("content-type", "")
    if kind.startswith("text/html"):
        return answer.text.split("<title>", 1)[1].split("</title>", 1)[0]
    if kind.startswith("application/json"):
        return str(answer.json()["error"])
    return answer.text or "(no body)"  # Starlette's plain "Not Found", Bolt's empty 404


def one_line_4xx(answer: httpx.Response) -> None:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    reason = one_line_answer(answer)
    assert reason and "\n" not in reason, reason


Case = Callable[[World], httpx.Response]
CASES: dict[str, Case] = {
    "jira deeply nested": lambda w: jira_post(
        w, ('{"webhookEvent":"x","a":' + nested(100_000) + "}").encode()
    ),
    "jira nested objects": lambda w: jira_post(w, ('{"a":' * 50_000 + "1" + "}" * 50_000).encode()),
    "jira a JSON list": lambda w: jira_post(w, b"[1, 2]"),
    "jira not JSON": lambda w: jira_post(w, b"webhookEvent=1"),
    "jira not UTF-8": lambda w: jira_post(w, b'{"webhookEvent": "\xff"}'),
    "jira 1 MiB body": lambda w: jira_post(w, b"{" + b" " * (1024 * 1024) + b"}"),
    "slack deeply nested payload": lambda w: slack_post(w, payload_form(nested(100_000))),
    "slack deeply nested events body": lambda w: slack_post(
        w, ('{"type":"event_callback","e":' + nested(100_000) + "}").encode(), JSON
    ),
    "slack 400-digit timestamp": lambda w: httpx.post(
        w.web_url + "/slack/events",
        content=b"payload=%7B%7D",
        headers={
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": "9" * 400,
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
    ),
    "slack payload not JSON": lambda w: slack_post(w, payload_form("not json")),
    "slack payload a list": lambda w: slack_post(w, payload_form([1, 2])),
    "slack block_actions without actions": lambda w: slack_post(
        w, payload_form({"type": "block_actions", "user": {"id": "U1"}})
    ),
    "slack view_submission without private_metadata": lambda w: slack_post(w, submission({})),
    "slack view_submission with non-JSON private_metadata": lambda w: slack_post(
        w, submission({"private_metadata": "{nope"})
    ),
    "slack 1 MiB body": lambda w: slack_post(w, b"payload=" + b"x" * (1024 * 1024)),
    "slack reason with a lone surrogate": lambda w: slack_post(
        w,
        submission({"state": {"values": {"reason": {"reason_text": {"value": "ok \ud800"}}}}}),
    ),
    "slack reason with a NUL": lambda w: slack_post(
        w, submission({"state": {"values": {"reason": {"reason_text": {"value": "a\u0000"}}}}})
    ),
    "dashboard page of 5,000 digits": lambda w: httpx.get(
        w.web_url + "/dashboard", params={"page": "9" * 5000}
    ),
    "dashboard page a superscript digit": lambda w: httpx.get(
        w.web_url + "/dashboard", params={"page": "²"}
    ),
    "dashboard page negative": lambda w: httpx.get(w.web_url + "/dashboard", params={"page": "-3"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_input_is_a_4xx_with_one_line_and_writes_nothing(world: World, case: str) -> None:
    before = counts(world)
    one_line_4xx(CASES[case](world))
    assert counts(world) == before


def test_slack_ssl_check_is_answered_200_unsigned_and_writes_nothing(world: World) -> None:
    before, calls = counts(world), len(world.slack.sandbox.calls)
    answer = httpx.post(
        world.web_url + "/slack/events",
        content=b"ssl_check=1&token=verification-token",
        headers={"Content-Type": FORM},
    )
    assert answer.status_code == 200 and answer.text == ""
    assert counts(world) == before and len(world.slack.sandbox.calls) == calls
    # an unsigned request that only pretends to be one is still refused
    sneaky = httpx.post(
        world.web_url + "/slack/events",
        content=b"ssl_check=1&command=%2Faims&text=status",
        headers={"Content-Type": FORM},
    )
    assert sneaky.status_code == 401


def series(world: World) -> int:
    text = httpx.get(world.web_url + "/metrics").text
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def test_made_up_paths_add_no_metrics_series(world: World) -> None:
    before = series(world)
    big = b"x" * (1024 * 1024 + 1)
    with httpx.Client(base_url=world.web_url, timeout=30) as client:
        for n in range(1000):
            path = f"/made-up-{n}/x{n}"
            if n % 10 == 0:  # over the body limit: refused before routing, and counted
                assert client.post(path, content=big).status_code == 413
            else:
                assert client.get(path).status_code == 404
    assert series(world) <= before + 2  # at most the one "other" series of refused bodies
    text = httpx.get(world.web_url + "/metrics").text
    assert "made-up" not in text


# -- fuzzing from the service's own OpenAPI description ---------------------------------------
def test_the_openapi_description_names_every_route(world: World) -> None:
    document = httpx.get(world.web_url + "/openapi.json").json()
    assert document["openapi"].startswith("3.")
    web = world.jira.server.app  # the ASGI app the loopback serves
    served = {route.path for route in getattr(web, "routes", [])}
    assert served and served <= set(document["paths"]), served - set(document["paths"])


_TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)
_SLACK_TYPES = st.sampled_from(
    ["block_actions", "view_submission", "view_closed", "shortcut", "event_callback", "x"]
)
_SLACK_PAYLOAD = st.fixed_dictionaries(
    {"type": _SLACK_TYPES},
    optional={
        "user": st.one_of(_JSONISH, st.fixed_dictionaries({"id": _TEXT})),
        "actions": _JSONISH,
        "view": st.one_of(
            _JSONISH,
            st.fixed_dictionaries(
                {
                    "id": _TEXT,
                    "type": st.just("modal"),
                    "callback_id": st.sampled_from(["aims_reason", "x"]),
                },
                optional={"private_metadata": _TEXT, "state": _JSONISH},
            ),
        ),
        "trigger_id": _TEXT,
    },
)
_JIRA_PAYLOAD = st.fixed_dictionaries(
    {"webhookEvent": st.sampled_from(["jira:issue_updated", "comment_created", ""])},
    optional={
        "issue": st.one_of(
            _JSONISH,
            st.fixed_dictionaries(
                {"id": st.one_of(_TEXT, st.integers()), "key": _TEXT},
                optional={"fields": _JSONISH},
            ),
        ),
        "changelog": _JSONISH,
        "user": _JSONISH,
        "timestamp": st.one_of(st.integers(), _TEXT),
    },
)
# what an HTTP header can carry: visible Latin-1 characters (no line breaks)
_HEADER = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=80,
)
_RAW = st.one_of(st.binary(max_size=300), _JSONISH.map(lambda v: json.dumps(v).encode()))


@st.composite
def requests(draw, paths: dict) -> tuple[str, str, dict[str, str], bytes, bool]:
    """(method, path, headers, body, signed) for one operation of the description."""
    path = draw(st.sampled_from(sorted(paths)))
    method = draw(st.sampled_from(sorted(paths[path])))
    headers: dict[str, str] = {}
    run_id = draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=30))
    url_path = path.replace("{run_id}", quote(run_id, safe=""))
    if method == "get":
        query = draw(st.dictionaries(st.sampled_from(["page", "x"]), _TEXT, max_size=2))
        return method, url_path + ("?" + urlencode(query) if query else ""), headers, b"", False
    signed = draw(st.booleans())
    if path == "/jira/webhook":
        body = draw(st.one_of(_RAW, _JIRA_PAYLOAD.map(lambda v: json.dumps(v).encode())))
        headers["Content-Type"] = JSON
        headers["X-Hub-Signature"] = "SIGN" if signed else draw(_HEADER.map("sha256=".__add__))
    else:
        form = _SLACK_PAYLOAD.map(lambda v: urlencode({"payload": json.dumps(v)}).encode())
        events = _SLACK_PAYLOAD.map(lambda v: json.dumps(v).encode())
        kind = draw(st.sampled_from([FORM, JSON]))
        body = draw(st.one_of(_RAW, form if kind == FORM else events))
        headers["Content-Type"] = kind
        if not signed:
            headers["X-Slack-Request-Timestamp"] = draw(st.one_of(_HEADER, st.integers().map(str)))
            headers["X-Slack-Signature"] = draw(_HEADER)
    return method, url_path, headers, body, signed


def test_fuzzing_every_endpoint_gives_no_500_and_no_traceback(world: World) -> None:
    paths = httpx.get(world.web_url + "/openapi.json").json()["paths"]
    assert {"/jira/webhook", "/slack/events", "/dashboard", "/healthz"} <= set(paths)
    seen: dict[int, int] = {}

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
    @given(requests(paths))
    def fuzz(request: tuple[str, str, dict[str, str], bytes, bool]) -> None:
        method, path, headers, body, signed = request
        if signed and path == "/jira/webhook":
            headers["X-Hub-Signature"] = jira_signature(world, body)
        elif signed:
            headers.update(signed_headers(SIGNING_SECRET, int(time.time()), body))
        before = counts(world)
        raw_headers = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
        answer = httpx.request(
            method.upper(), world.web_url + path, headers=raw_headers, content=body, timeout=30
        )
        seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
        assert answer.status_code < 500, (method, path, body[:200], answer.text[:300])
        assert "Traceback" not in answer.text
        if answer.status_code in (400, 401, 404, 413):
            one_line_answer(answer)
        if answer.status_code == 401 or not signed and method == "post":
            assert counts(world) == before, (path, body[:200])
        world.slack.wait()

    fuzz()
    print(f"fuzzed answers by status: {dict(sorted(seen.items()))}")
    assert seen.get(400) and seen.get(401) and seen.get(200)
