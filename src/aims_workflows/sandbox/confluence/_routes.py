"""The REST API v2 routes that a publisher uses, answering in Confluence Cloud's shapes.

Paths, parameters and bodies follow Atlassian's ``openapi-v2.v3.json``; the contract tests
validate every request and answer against it. Errors come as ``{"errors": [{status, code,
title, detail}]}``, as Confluence's v2 API sends them.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ._state import ConfluenceApiError, ConfluenceState, Page, Space

__all__ = ["API", "build_routes", "error_response"]

API = "/wiki/api/v2"
_BODY_FORMATS = frozenset({"storage", "atlas_doc_format"})
_MAX_LIMIT = 250


def error_response(status: int, code: str, title: str) -> JSONResponse:
    body = {"errors": [{"status": status, "code": code, "title": title, "detail": None}]}
    return JSONResponse(body, status_code=status)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _space_json(space: Space) -> dict[str, Any]:
    return {
        "id": space.id,
        "key": space.key,
        "name": space.name,
        "type": "global",
        "status": "current",
        "authorId": space.author_id,
        "createdAt": _stamp(space.created_at),
        "homepageId": space.homepage_id or "",
        "_links": {"webui": f"/spaces/{space.key}"},
    }


def _page_json(state: ConfluenceState, page: Page, body_format: str | None) -> dict[str, Any]:
    version = page.current
    space = state.spaces[page.space_id]
    out: dict[str, Any] = {
        "id": page.id,
        "status": page.status,
        "title": version.title,
        "spaceId": page.space_id,
        "parentId": page.parent_id or "",
        "parentType": "page",
        "position": None,
        "authorId": page.author_id,
        "ownerId": page.author_id,
        "lastOwnerId": None,
        "createdAt": _stamp(page.created_at),
        "version": {
            "createdAt": _stamp(version.created_at),
            "message": version.message,
            "number": version.number,
            "minorEdit": False,
            "authorId": version.author_id,
        },
        "body": {},
        "_links": {
            "webui": f"/spaces/{space.key}/pages/{page.id}",
            "editui": f"/pages/resumedraft.action?draftId={page.id}",
            "tinyui": f"/x/{page.id}",
        },
    }
    if body_format == "storage":
        out["body"] = {"storage": {"representation": "storage", "value": version.body}}
    return out


def _bad(title: str) -> ConfluenceApiError:
    return ConfluenceApiError(400, "INVALID_REQUEST_PARAMETER", title)


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "25")
    try:
        limit = int(raw)
    except ValueError:
        raise _bad(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= limit <= _MAX_LIMIT:
        raise _bad(f"limit must be between 1 and {_MAX_LIMIT}")
    return limit


def _offset(request: Request) -> int:
    cursor = request.query_params.get("cursor")
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad("cursor is not valid") from None


def _paged(
    request: Request, items: list[dict[str, Any]], limit: int, offset: int
) -> dict[str, Any]:
    page = items[offset : offset + limit]
    links: dict[str, str] = {"base": str(request.base_url).rstrip("/") + "/wiki"}
    if offset + limit < len(items):
        cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query.append(("cursor", cursor))
        links["next"] = request.url.path + "?" + "&".join(f"{k}={v}" for k, v in query)
    return {"results": page, "_links": links}


def _body_format(request: Request) -> str | None:
    value = request.query_params.get("body-format")
    if value is not None and value not in _BODY_FORMATS:
        raise _bad(f"body-format must be one of {sorted(_BODY_FORMATS)}, got {value!r}")
    return value


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise _bad("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _bad("The request body must be a JSON object")
    return data


def _storage_value(data: dict[str, Any]) -> str:
    """The storage body of a write, in its flat or nested form."""
    body = data.get("body")
    if not isinstance(body, dict):
        raise _bad("body is required")
    flat: dict[str, Any]
    if "representation" in body:
        flat = body
    else:
        nested = body.get("storage")
        if not isinstance(nested, dict):
            raise _bad("Only the storage representation is supported by this site")
        flat = {"representation": "storage", **nested}
    if flat.get("representation") != "storage" or not isinstance(flat.get("value"), str):
        raise _bad("body must have representation 'storage' and a string value")
    return str(flat["value"])


Handler = Callable[[ConfluenceState, Request], Awaitable[Response]]


async def get_spaces(state: ConfluenceState, request: Request) -> Response:
    limit, offset = _limit(request), _offset(request)
    keys = set(request.query_params.getlist("keys"))
    ids = set(request.query_params.getlist("ids"))
    with state.lock:
        found = [
            _space_json(s)
            for s in state.spaces.values()
            if (not keys or s.key in keys) and (not ids or s.id in ids)
        ]
    return JSONResponse(_paged(request, found, limit, offset))


async def get_pages(state: ConfluenceState, request: Request) -> Response:
    limit, offset, body_format = _limit(request), _offset(request), _body_format(request)
    space_ids = set(request.query_params.getlist("space-id"))
    title = request.query_params.get("title")
    status = request.query_params.get("status", "current")
    with state.lock:
        found = [
            _page_json(state, p, body_format)
            for p in state.pages.values()
            if (not space_ids or p.space_id in space_ids)
            and (title is None or p.current.title == title)
            and (status == "any" or p.status == status)
        ]
    return JSONResponse(_paged(request, found, limit, offset))


async def get_page(state: ConfluenceState, request: Request) -> Response:
    body_format = _body_format(request)
    with state.lock:
        page = state.page(request.path_params["id"])
        return JSONResponse(_page_json(state, page, body_format))


async def create_page(state: ConfluenceState, request: Request) -> Response:
    data = await _json_body(request)
    space_id, title = data.get("spaceId"), data.get("title")
    if not isinstance(space_id, str) or not space_id:
        raise _bad("spaceId is required")
    if data.get("status", "current") != "current":
        raise _bad("Only current pages can be created on this site")
    if not isinstance(title, str):
        raise _bad("Title is required for a page that is not a draft")
    parent = data.get("parentId")
    if parent is not None and not isinstance(parent, str):
        raise _bad("parentId must be a string")
    account = request.scope["state"]["confluence_account_id"]
    with state.lock:
        page = state.create_page(account, space_id, title, _storage_value(data), parent)
        return JSONResponse(_page_json(state, page, "storage"))


async def update_page(state: ConfluenceState, request: Request) -> Response:
    data = await _json_body(request)
    page_id = request.path_params["id"]
    missing = [k for k in ("id", "status", "title", "body", "version") if k not in data]
    if missing:
        raise _bad(f"Missing required fields: {', '.join(missing)}")
    if data["id"] != page_id:
        raise _bad("The id in the body does not match the page in the path")
    version = data["version"]
    if not isinstance(version, dict) or not isinstance(version.get("number"), int):
        raise _bad("version.number is required")
    message = version.get("message", "")
    if not isinstance(message, str) or not isinstance(data["title"], str):
        raise _bad("title and version.message must be strings")
    account = request.scope["state"]["confluence_account_id"]
    with state.lock:
        page = state.update_page(
            account,
            page_id,
            title=data["title"],
            body=_storage_value(data),
            number=version["number"],
            message=message,
            parent_id=data.get("parentId") if isinstance(data.get("parentId"), str) else None,
        )
        return JSONResponse(_page_json(state, page, "storage"))


async def get_children(state: ConfluenceState, request: Request) -> Response:
    limit, offset = _limit(request), _offset(request)
    with state.lock:
        found = [
            {
                "id": p.id,
                "status": p.status,
                "title": p.current.title,
                "spaceId": p.space_id,
                "childPosition": None,
            }
            for p in state.children(request.path_params["id"])
        ]
    return JSONResponse(_paged(request, found, limit, offset))


async def space_operations(state: ConfluenceState, request: Request) -> Response:
    """What the signed-in account may do in the space: read always, page writes if a writer."""
    account = request.scope["state"]["confluence_account_id"]
    with state.lock:
        space = state.spaces.get(request.path_params["id"])
        if space is None:
            raise ConfluenceApiError(404, "NOT_FOUND", "Space not found")
        operations = [{"operation": "read", "targetType": "space"}]
        if space.may_write(account):
            operations += [
                {"operation": op, "targetType": "page"} for op in ("create", "update", "delete")
            ]
    return JSONResponse({"operations": operations})


async def view_page(state: ConfluenceState, request: Request) -> Response:
    """What a person's browser shows at a page's link: its title and stored body."""
    with state.lock:
        page = state.page(request.path_params["id"])
        title, body = page.current.title, page.current.body
    return HTMLResponse(f"<!DOCTYPE html><title>{html.escape(title)}</title>{body}")


_TABLE: list[tuple[str, list[str], Handler]] = [
    (API + "/spaces", ["GET"], get_spaces),
    (API + "/spaces/{id}/operations", ["GET"], space_operations),
    (API + "/pages", ["GET"], get_pages),
    (API + "/pages", ["POST"], create_page),
    (API + "/pages/{id}", ["GET"], get_page),
    (API + "/pages/{id}", ["PUT"], update_page),
    (API + "/pages/{id}/children", ["GET"], get_children),
    ("/wiki/spaces/{key}/pages/{id}", ["GET"], view_page),
]


def _wrapped(handler: Handler, state: ConfluenceState) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(state, request)
        except ConfluenceApiError as exc:
            return error_response(exc.status, exc.code, exc.title)

    return endpoint


def build_routes(state: ConfluenceState) -> list[Route]:
    return [Route(path, _wrapped(h, state), methods=m) for path, m, h in _TABLE]
