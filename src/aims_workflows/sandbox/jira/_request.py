"""What every handler of the sandbox's REST API reads from a request: its JSON body, its
query parameters (strictly, as Jira answers 400 to a malformed one), the acting account, and
Jira's PageBean over a list."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from ._errors import JiraApiError
from ._render import Renderer
from ._state import JiraState

__all__ = [
    "RouteContext",
    "read_json",
    "read_json_object",
    "actor_of",
    "list_param",
    "int_param",
    "bool_param",
    "page_bean",
]


@dataclass
class RouteContext:
    """What the handlers need: the state, a renderer for the live base URL, limits."""

    state: JiraState
    renderer: Callable[[], Renderer]
    max_results_cap: int = 100


async def read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise JiraApiError(
            400, ["Unexpected character in the request body: not valid JSON."]
        ) from None


async def read_json_object(request: Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise JiraApiError(400, ["The request body must be a JSON object."])
    return data


def actor_of(request: Request) -> str:
    return request.scope["state"]["jira_account_id"]


def list_param(request: Request, name: str) -> list[str] | None:
    values = [v for raw in request.query_params.getlist(name) for v in raw.split(",")]
    return values or None


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise JiraApiError(400, [f"The '{name}' parameter must be a number."]) from None


def bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise JiraApiError(400, [f"The '{name}' parameter must be true or false."])
    return raw.lower() == "true"


def page_bean(request: Request, items: list[Any], default_size: int, cap: int) -> dict[str, Any]:
    """Jira's PageBean over ``items``: startAt, maxResults, total, isLast, values (+ nextPage)."""
    start = max(0, int_param(request, "startAt", 0))
    size = max(1, min(int_param(request, "maxResults", default_size), cap))
    body: dict[str, Any] = {
        "maxResults": size,
        "startAt": start,
        "total": len(items),
        "isLast": start + size >= len(items),
        "values": items[start : start + size],
    }
    if not body["isLast"]:
        query = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in ("startAt", "maxResults")
        ]
        query += [("startAt", str(start + size)), ("maxResults", str(size))]
        body["nextPage"] = str(request.url.replace(query=urlencode(query)))
    return body
