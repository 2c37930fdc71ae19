"""``GET /dashboard/readiness`` and ``GET /api/readiness``: the readiness check of
``aims readiness`` as a page of the dashboard and as JSON (``?stage=1`` or ``2``, default 2).
Both sit behind the dashboard's token like every ``/dashboard*`` and ``/api*`` path."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .dashboard import _HEADERS

__all__ = ["readiness_routes"]

_BAD_STAGE = "stage must be 1 or 2, as in ?stage=1"


def _stage(request: Request) -> int | None:
    raw = request.query_params.get("stage", "2")
    return int(raw) if raw in ("1", "2") else None


def readiness_routes(app_ctx: Any) -> list[BaseRoute]:
    from ..documents.html import render_readiness
    from ..documents.readiness import readiness_of
    from ..kpi.html import render_error

    organisation = app_ctx.config.organisation

    def report(stage: int):
        return readiness_of(app_ctx, stage, app_ctx.runtime.clock.now())

    async def page(request: Request) -> Response:
        stage = _stage(request)
        if stage is None:
            return HTMLResponse(
                render_error(400, "Bad stage", _BAD_STAGE, organisation=organisation),
                status_code=400,
                headers=_HEADERS,
            )
        result = await run_in_threadpool(report, stage)
        return HTMLResponse(render_readiness(result, organisation=organisation), headers=_HEADERS)

    async def api(request: Request) -> Response:
        stage = _stage(request)
        if stage is None:
            return JSONResponse({"error": _BAD_STAGE}, status_code=400, headers=_HEADERS)
        result = await run_in_threadpool(report, stage)
        return Response(
            json.dumps(result.as_dict(), indent=2),
            media_type="application/json",
            headers=_HEADERS,
        )

    return [
        Route("/dashboard/readiness", page, methods=["GET"]),
        Route("/api/readiness", api, methods=["GET"]),
    ]
