"""The OpenAPI description of ``aims serve``'s own endpoints, served at ``/openapi.json``.

It says what each endpoint takes and answers, including the refusals (400 for a malformed
body, 401 for a missing or wrong signature, 413 for a body over the limit), so that a client,
a monitoring probe or a fuzzer can be built from it; the reliability tests fuzz every operation
listed here and check that the app serves no route missing from it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_ERROR = {
    "description": "Refused, with a one-line reason",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            }
        }
    },
}
_HTML = {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
_HTML_ERROR = {"description": "An HTML error page, its title the reason", **_HTML}


def _operation(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": responses, **extra}


def openapi_document(*, jira: bool, slack: bool, version: str = "") -> dict[str, Any]:
    """The description of the endpoints this app serves (the integrations it was opened
    with decide whether the webhook routes are there)."""
    paths: dict[str, Any] = {
        "/healthz": {
            "get": _operation(
                "Whether the database answers",
                {
                    "200": {"description": "Healthy"},
                    "503": {"description": "The database does not answer"},
                },
            )
        },
        "/metrics": {
            "get": _operation(
                "Prometheus metrics",
                {"200": {"description": "Metrics", "content": {"text/plain": {}}}},
            )
        },
        "/openapi.json": {
            "get": _operation("This description", {"200": {"description": "OpenAPI 3.1 document"}})
        },
        "/dashboard": {
            "get": _operation(
                "The compliance dashboard",
                {"200": _HTML, "400": _HTML_ERROR, "401": _ERROR},
                parameters=[
                    {
                        "name": "page",
                        "in": "query",
                        "required": False,
                        "description": "page of the AI systems table, from 1",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
                    }
                ],
            )
        },
        "/dashboard/runs/{run_id}": {
            "get": _operation(
                "One run's page: its timeline, open work and problems",
                {"200": _HTML, "400": _HTML_ERROR, "401": _ERROR, "404": _HTML_ERROR},
                parameters=[
                    {
                        "name": "run_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,200}$"},
                    }
                ],
            )
        },
        "/api/kpis": {
            "get": _operation(
                "The KPIs as JSON (what `aims kpi --json` prints)",
                {"200": {"description": "KPIs"}, "401": _ERROR},
            )
        },
    }
    if jira:
        paths["/jira/webhook"] = {
            "post": _operation(
                "A Jira Cloud webhook delivery, signed with X-Hub-Signature",
                {
                    "200": {"description": "A repeat of a stored delivery"},
                    "202": {"description": "Stored, to be applied"},
                    "400": _ERROR,
                    "401": _ERROR,
                    "413": _ERROR,
                    "503": {"description": "Not stored (the database is unavailable): retry"},
                },
                parameters=[
                    {
                        "name": "X-Hub-Signature",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
                    },
                    {
                        "name": "X-Atlassian-Webhook-Identifier",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 300},
                    },
                ],
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["webhookEvent"],
                                "properties": {
                                    "webhookEvent": {"type": "string"},
                                    "timestamp": {"type": "integer"},
                                    "issue": {"type": "object"},
                                    "changelog": {"type": "object"},
                                    "user": {"type": "object"},
                                },
                            }
                        }
                    },
                },
            )
        }
    if slack:
        paths["/slack/events"] = {
            "post": _operation(
                "Slack interactions, slash commands and events, signed with X-Slack-Signature "
                "(and Slack's unsigned ssl_check)",
                {
                    "200": {"description": "Acknowledged (or the answer to a slash command)"},
                    "400": _ERROR,
                    "401": _ERROR,
                    "413": _ERROR,
                },
                parameters=[
                    {
                        "name": "X-Slack-Request-Timestamp",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
                    },
                    {
                        "name": "X-Slack-Signature",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^v0=[0-9a-f]{64}$"},
                    },
                ],
                requestBody={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "payload": {"type": "string"},
                                    "command": {"type": "string"},
                                    "ssl_check": {"type": "string"},
                                },
                            }
                        },
                        "application/json": {"schema": {"type": "object", "required": ["type"]}},
                    },
                },
            )
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "aims serve", "version": version or "0"},
        "paths": paths,
    }
