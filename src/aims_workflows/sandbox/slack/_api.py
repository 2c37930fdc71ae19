"""The HTTP face of the sandbox: ``/api/<method>`` as Slack serves it, plus response URLs.

Slack accepts every method by GET or POST, with arguments in the query string, a form body or
(POST) a JSON body, and the token in ``Authorization: Bearer`` or in a ``token`` argument; a
JSON body must carry its token in the header. This module does that once for all methods, then
applies armed faults and hands the arguments to the handler in ``_methods``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from ._blockkit import BlockKitError, check_blocks
from ._errors import ApiFailure
from ._faults import Faults
from ._methods import METHODS, Args
from ._scopes import APP_SCOPES, check_scope
from ._socket_mode import SocketModeHub
from ._workspace import Workspace

__all__ = ["ApiCall", "build_app"]


@dataclass
class ApiCall:
    """One Web API call as the sandbox saw it, for tests that count or inspect calls."""

    method: str
    http_method: str
    content_type: str
    token_in: str | None  # "header", "body", "query" or None
    args: dict[str, Any]
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


def _json_response(
    body: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
    scopes: frozenset[str] = APP_SCOPES,
) -> Response:
    all_headers = {"x-oauth-scopes": ",".join(sorted(scopes))}
    all_headers.update(headers or {})
    return JSONResponse(body, status_code=status, headers=all_headers)


async def _read_args(request: Request) -> tuple[dict[str, Any], str | None, str]:
    """Merge query and body arguments; return them, the token's location and content type."""
    args: dict[str, Any] = dict(request.query_params)
    token_in = "query" if "token" in args else None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST":
        if content_type == "application/json":
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError as exc:
                raise ApiFailure("invalid_json") from exc
            if not isinstance(body, dict):
                raise ApiFailure("json_not_object")
            # Slack ignores a token inside a JSON body: it must come in the header.
            body.pop("token", None)
            args.update(body)
        elif content_type == "application/x-www-form-urlencoded" or not content_type:
            # Parsed here rather than with request.form(): that needs python-multipart, and
            # the Web API calls the app makes never upload files.
            text = (await request.body()).decode("utf-8", "replace")
            form = dict(parse_qsl(text, keep_blank_values=True))
            if "token" in form:
                token_in = "body"
            args.update(form)
        else:
            raise ApiFailure("invalid_form_data")
    return args, token_in, content_type


def _take_token(
    request: Request, args: dict[str, Any], token_in: str | None
) -> tuple[str | None, str | None]:
    """The token and where it came from; the ``Authorization`` header wins over arguments."""
    header = request.headers.get("authorization", "")
    body_token = args.pop("token", None)
    if header.lower().startswith("bearer "):
        return header[7:].strip(), "header"
    return (body_token, token_in) if body_token else (None, None)


def build_app(
    workspace: Workspace,
    *,
    tokens: set[str],
    faults: Faults,
    middleware: Sequence[Middleware] = (),
    socket_mode: SocketModeHub | None = None,
) -> tuple[Starlette, list[ApiCall]]:
    """The Starlette app and the live list of calls it records (appended as calls arrive).
    The bot token's scopes are ``workspace.scopes``: a call that needs another gets
    ``missing_scope``."""
    calls: list[ApiCall] = []
    calls_lock = threading.Lock()
    request_counter = iter(range(1, 10**12))

    async def web_api(request: Request) -> Response:
        method = request.path_params["method"]
        req_id = f"sandbox-{next(request_counter):08d}"
        call = ApiCall(
            method=method, http_method=request.method, content_type="", token_in=None, args={}
        )
        headers = {"x-slack-req-id": req_id}
        scopes = frozenset(workspace.scopes)
        try:
            if method not in METHODS and method != "apps.connections.open":
                raise ApiFailure("unknown_method", status=404)
            args, token_in, call.content_type = await _read_args(request)
            token, call.token_in = _take_token(request, args, token_in)
            call.args = args
            if not token:
                raise ApiFailure("not_authed")
            if method == "apps.connections.open":
                # only the app-level token opens a socket; a bot token is the wrong type
                if socket_mode is None or token != socket_mode.app_token:
                    raise ApiFailure(
                        "not_allowed_token_type" if token in tokens else "invalid_auth"
                    )
                url = socket_mode.open_ticket(str(request.base_url).rstrip("/"))
                call.status, call.response = 200, {"ok": True, "url": url}
                with calls_lock:
                    calls.append(call)
                return _json_response({"ok": True, "url": url}, 200, headers, scopes)
            if token not in tokens:
                raise ApiFailure("invalid_auth")
            check_scope(workspace, method, args, scopes)
            fault = faults.take(method)
            if fault is not None and fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
                raise ApiFailure(fault.error, status=429)
            if fault is not None:
                raise ApiFailure(fault.error)
            body: dict[str, Any] = {"ok": True, **METHODS[method](workspace, Args(args))}
            status = 200
        except ApiFailure as failure:
            body = {"ok": False, "error": failure.error, **failure.extra}
            if failure.error == "invalid_blocks":
                body["errors"] = [m.removeprefix("[ERROR] ") for m in failure.messages]
            if failure.messages:
                body["response_metadata"] = {"messages": failure.messages}
            status = failure.status
        call.status, call.response = status, body
        with calls_lock:
            calls.append(call)
        return _json_response(body, status, headers, scopes)

    async def response_url(request: Request) -> Response:
        key = "/".join(request.path_params[p] for p in ("team", "hook", "secret"))
        target = workspace.response_urls.get(key)
        if target is None:
            return Response("no_service", status_code=404, media_type="text/plain")
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            blocks = check_blocks(body["blocks"]) if body.get("blocks") is not None else []
        except (ValueError, BlockKitError) as exc:
            problem = exc.problems if isinstance(exc, BlockKitError) else [str(exc)]
            return _json_response({"ok": False, "error": "invalid_blocks", "errors": problem}, 400)
        text = str(body.get("text", ""))
        try:
            workspace.respond(
                target,
                text,
                blocks,
                replace=bool(body.get("replace_original")),
                delete=bool(body.get("delete_original")),
                in_channel=body.get("response_type") == "in_channel",
            )
        except ApiFailure as failure:
            return _json_response({"ok": False, "error": failure.error}, 404)
        return _json_response({"ok": True})

    routes: list[BaseRoute] = [
        Route("/api/{method}", web_api, methods=["GET", "POST"]),
        Route("/actions/{team}/{hook}/{secret}", response_url, methods=["POST"]),
    ]
    if socket_mode is not None:
        routes.append(WebSocketRoute("/link/", socket_mode.endpoint))
    return Starlette(routes=routes, middleware=list(middleware)), calls
