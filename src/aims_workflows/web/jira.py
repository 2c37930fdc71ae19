"""Jira's webhook route: verify, store the delivery in the inbox, answer; and the thread that
applies stored deliveries in the runtime soon after they arrive."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from .metrics import Metrics
from .middleware import JiraSignature, json_error

__all__ = ["InboxWorker", "jira_routes"]

log = logging.getLogger("aims.web")


class InboxWorker:
    """A thread that applies stored deliveries soon after they arrive (woken by each one)."""

    def __init__(
        self, processor: Any, metrics: Metrics | None = None, *, idle: float = 1.0
    ) -> None:
        self.processor, self.metrics, self.idle = processor, metrics, idle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def notify(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="aims-inbox", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.idle)
            self._wake.clear()
            try:
                while not self._stop.is_set():
                    done = self.processor.process_pending(limit=200)
                    if self.metrics and done:
                        self.metrics.processed.labels("jira").inc(done)
                    if not done:
                        break
            except Exception:  # noqa: BLE001 - keep the thread alive; rows stay stored
                log.exception("processing stored deliveries failed; will retry")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def jira_routes(
    app_ctx: Any, secret: str, *, metrics: Metrics, worker: InboxWorker | None
) -> list[BaseRoute]:
    """``POST /jira/webhook`` behind the signature check."""
    from .. import bounded_json
    from ..adapters.jira import payload_problem
    from ..runtime import Delivery

    def store(delivery_id: str, text: str, payload: Any) -> bool:
        # the issue it changes: workers apply one issue's deliveries in the order received
        issue = payload.get("issue") if isinstance(payload, dict) else None
        issue_id = issue.get("id") if isinstance(issue, dict) else None
        subject = f"issue:{issue_id}" if isinstance(issue_id, (str, int)) else None
        delivery = Delivery("jira", delivery_id, text, subject=subject)
        return bool(app_ctx.runtime.store_delivery(delivery))

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        try:
            text = body.decode("utf-8")
            payload = bounded_json.loads(text)
        except ValueError as err:  # not UTF-8, not JSON, or nested too deeply
            metrics.deliveries.labels("jira", "malformed").inc()
            reason = str(err) if isinstance(err, bounded_json.JSONInputError) else ""
            return json_error(400, reason or "the body is not UTF-8 JSON")
        problem = payload_problem(payload)
        if problem is not None:
            metrics.deliveries.labels("jira", "malformed").inc()
            return json_error(400, problem)
        # Jira sends one identifier per delivery and keeps it on retries; without one, the body
        # itself (it carries a millisecond timestamp) identifies the delivery.
        delivery = (
            request.headers.get("x-atlassian-webhook-identifier")
            or "sha256:" + hashlib.sha256(body).hexdigest()
        )
        new = await run_in_threadpool(store, delivery[:300], text, payload)
        metrics.deliveries.labels("jira", "accepted" if new else "duplicate").inc()
        if new and worker is not None:
            worker.notify()
        metrics.answer_seconds.labels("jira").observe(time.perf_counter() - started)
        return JSONResponse(
            {"status": "accepted" if new else "duplicate", "delivery": delivery[:300]},
            status_code=202 if new else 200,
        )

    endpoint = JiraSignature(_Endpoint(webhook), secret, metrics)
    return [Route("/jira/webhook", endpoint, methods=["POST"])]


class _Endpoint:
    """A request handler as a plain ASGI app, so middleware can wrap one route."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)
