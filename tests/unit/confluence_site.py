"""A Confluence sandbox whose every exchange is held to Atlassian's REST API v2 description.

``../shared/specs/confluence/openapi-v2.v3.json`` is loaded once (openapi-core, spec validator
off as the specs README says); each request the sandbox receives and each answer it gives is
validated, and the problems are collected for the test to assert on. Also what the publishing
tests share: the environment pointing aims at the sandbox, and the publications in the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import ImmutableMultiDict

from aims_workflows.engine.evidence_kinds import DocumentPublished, parse_evidence
from aims_workflows.sandbox.confluence import ConfluenceSandbox, Exchange
from aims_workflows.store import ledger

SPEC_PATH = Path(__file__).resolve().parents[2] / "../shared/specs/confluence/openapi-v2.v3.json"
SPEC_HOST = "https://example.atlassian.net"

# Answers the real service gives that the description does not list, each with the reason.
UNDECLARED_BUT_REAL = {
    # An update with a stale version number: Confluence answers 409 Conflict ("Version must
    # be incremented ..."); the v2 description lists only 200/400/401/404 for PUT /pages/{id}.
    ("PUT", 409),
    # Authentication fails before any operation is reached, on every path.
    ("GET", 401),
    ("POST", 401),
    ("PUT", 401),
}


@cache
def confluence_openapi() -> OpenAPI:
    spec = json.loads(SPEC_PATH.read_text())
    # A fault of the vendor file: a page write's ``body`` is ``oneOf`` PageBodyWrite and
    # PageNestedBodyWrite, two objects with no required property and no closed property set,
    # so every body matches both and ``oneOf`` refuses every write Confluence accepts. ``anyOf``
    # keeps each alternative's checks (types, the representation enum) and drops the
    # impossible "exactly one".
    for name in ("PageCreateRequest", "PageUpdateRequest"):
        schema = spec["components"]["requestBodies"][name]["content"]["application/json"]
        body = schema["schema"]["properties"]["body"]
        body["anyOf"] = body.pop("oneOf")
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@dataclass
class Checked:
    """Every exchange seen, and the problems the description found in them."""

    exchanges: list[Exchange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __call__(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        if not exchange.path.startswith("/wiki/api/v2/"):
            return
        request = MockRequest(
            SPEC_HOST,
            exchange.method,
            exchange.path,
            headers=dict(exchange.request_headers),
            data=exchange.request_body,
            content_type=exchange.request_header("content-type", "application/json"),
        )
        request.parameters.query = ImmutableMultiDict(
            parse_qsl(exchange.query_string.decode(), keep_blank_values=True)
        )
        where = f"{exchange.method} {exchange.path}?{exchange.query_string.decode()}"
        api = confluence_openapi()
        try:
            api.validate_request(request)
        except Exception as exc:  # noqa: BLE001 - every kind of mismatch is a finding
            self.problems.append(f"request {where}: {type(exc).__name__}: {exc}")
        if (exchange.method, exchange.status) in UNDECLARED_BUT_REAL:
            return
        response = MockResponse(
            exchange.response_body,
            status_code=exchange.status,
            headers=dict(exchange.response_headers),
            content_type=exchange.response_header("content-type").split(";")[0],
        )
        try:
            api.validate_response(request, response)
        except Exception as exc:  # noqa: BLE001
            self.problems.append(f"response {where} {exchange.status}: {exc}")


def checked_site(**options) -> Iterator[tuple[ConfluenceSandbox, Checked]]:
    checked = Checked()
    site = ConfluenceSandbox(**options)
    site.observers.append(checked)
    with site:
        yield site, checked


def site_environment(site: ConfluenceSandbox) -> dict[str, str]:
    """The ``AIMS_CONFLUENCE_*`` variables that point aims at ``site``'s space AIMS."""
    email, token = site.credentials()
    return {
        "AIMS_CONFLUENCE_URL": site.url,
        "AIMS_CONFLUENCE_EMAIL": email,
        "AIMS_CONFLUENCE_API_TOKEN": token,
        "AIMS_CONFLUENCE_SPACE": "AIMS",
    }


def published(harness) -> list[DocumentPublished]:
    """The ``document.published`` rows of the harness's ledger, oldest first."""
    with harness.db.connect() as conn:
        rows = list(ledger.iter_rows(conn, kind=DocumentPublished.KIND))
    out = []
    for row in rows:
        payload = parse_evidence(row.kind, row.payload)
        assert isinstance(payload, DocumentPublished)
        out.append(payload)
    return out
